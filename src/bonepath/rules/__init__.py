"""bonepath.rules."""
