"""bonepath.cli."""
