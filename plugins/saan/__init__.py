"""Placeholder: the saan plugin is being written (it registers nothing yet)."""
