"""Placeholder: the emotion plugin is being written (it registers nothing yet)."""
