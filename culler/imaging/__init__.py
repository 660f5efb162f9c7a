"""Pixels: decoding photos at reduced size, colour management and what is computed from a decode.

``images`` opens every supported format (JPEG with DCT scaling, PNG, TIFF, RAW previews and HEIC
through plugins) as an oriented sRGB image; ``colour`` converts embedded ICC profiles; ``gpu_decode``
batch-decodes JPEGs on CUDA (nvJPEG); ``signatures`` computes the near-duplicate signature (DCT hash,
colour layout, small grey thumbnail) of a decoded image.
"""
