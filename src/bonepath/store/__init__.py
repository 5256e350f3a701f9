"""bonepath.store."""
