"""bonepath.synth."""
