"""Placeholder: the faces plugin is being written (it registers nothing yet)."""
