"""bonepath.web."""
