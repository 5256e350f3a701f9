"""bonepath.engine."""
