"""First-party culler plugins (installed as ``culler_plugins``).

Each subpackage is loaded through the ``culler`` entry-point group, exactly like a third-party plugin.
"""
