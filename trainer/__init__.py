"""culler's trainer: fine-tune scorers on the user's own ratings (installed as ``culler_trainer``)."""
