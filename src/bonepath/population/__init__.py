"""bonepath.population."""
