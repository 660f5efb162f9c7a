"""The command line's commands, one module per subject (cull and rating, export, XMP, models, tags,
training, evaluation, the GUI launcher); each defines ``register(cli)`` and its click commands as
module-level functions. They parse arguments, open the catalog through ``options`` and call the
layers below; they hold no decision logic of their own.
"""
