"""Synonym tables (TOML data files, see README.md here); read by bonepath.interop.values."""
