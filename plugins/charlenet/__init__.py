"""Placeholder: the charlenet plugin is being written (it registers nothing yet)."""
