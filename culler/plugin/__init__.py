"""The plugin contract and its machinery (plugin authors import :mod:`culler.api`, not this package).

``hookspecs`` declares every hook, ``manager`` loads plugins from the ``culler`` entry-point group with
fault isolation and the CULLER_LOAD_PLUGINS allow-list, ``scorers`` defines the Scorer base class,
ScoreResult and the registry that ``register_scorers`` fills, ``trainable`` the networks plugins offer
the trainer, and ``info`` the description ``culler plugins`` prints.
"""
