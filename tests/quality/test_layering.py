"""The quality computations are domain code: no web framework, ORM or FHIR library."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "bonepath" / "quality"
FORBIDDEN = {"sqlalchemy", "alembic", "fastapi", "starlette", "fhir", "psycopg", "jinja2"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith(("bonepath.store", "bonepath.api", "bonepath.web", "bonepath.interop")):
                names.add(node.module)
    return names


def test_quality_imports_no_web_orm_fhir_or_store_module() -> None:
    offenders = {
        path.name: sorted(n for n in _imports(path) if n in FORBIDDEN or n.startswith("bonepath."))
        for path in SRC.glob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert len(offenders) >= 8
