"""bonepath.interop."""
