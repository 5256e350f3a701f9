"""bonepath.quality."""
