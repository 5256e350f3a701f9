"""bonepath.api."""
