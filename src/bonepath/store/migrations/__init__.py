"""Alembic migrations of the store (run by :mod:`bonepath.store.migrate`; no alembic.ini)."""
