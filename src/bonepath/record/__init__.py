"""bonepath.record."""
