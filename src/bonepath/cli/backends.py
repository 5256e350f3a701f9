"""Which registry backend a command runs on: one rule for worklist, remind and quality."""

from __future__ import annotations

from bonepath.errors import Problem


def backend_for(requested: str, dialect: str) -> str | Problem:
    """The backend to use for ``--backend requested`` on a store of SQLAlchemy ``dialect``.

    ``auto`` pushes the work down into PostgreSQL when the store is PostgreSQL, else DuckDB;
    ``postgres`` on another store is refused (the returned :class:`Problem`)."""
    if requested == "postgres" and dialect != "postgresql":
        return Problem(
            "--backend",
            "BACKEND_UNAVAILABLE",
            f"the postgres backend needs a PostgreSQL store; this one is {dialect}",
            ("duckdb", "auto"),
        )
    if requested == "auto":
        return "postgres" if dialect == "postgresql" else "duckdb"
    return requested
