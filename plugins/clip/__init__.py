"""Placeholder: the clip plugin is being written (it registers nothing yet)."""
