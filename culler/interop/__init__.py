"""What culler exchanges with the photographer's other tools and folders.

``xmp`` reads and writes XMP sidecars the way Lightroom, darktable and Capture One do; ``xmp_sync``
carries ratings, labels and keywords between those sidecars and the catalog; ``export`` copies, links
or moves picks to a destination, and ``export_move`` holds the file steps of ``--move`` (journal,
byte-exact copy, undo) so that a killed move never loses a photo.
"""
