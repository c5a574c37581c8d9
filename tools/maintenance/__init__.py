"""Maintenance commands: the model index, model renaming, the manual's option tables."""
