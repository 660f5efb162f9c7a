"""Placeholder: the formats plugin is being written (it registers nothing yet)."""
