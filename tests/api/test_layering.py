"""The web layer's own invariants: what the routes do with patient data (services), the
accounts store and the chart renderer import no web framework, so the CLI and other
transports can use them."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "bonepath"
WEB_FRAMEWORKS = {"fastapi", "starlette", "jinja2", "uvicorn"}


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_services_accounts_and_charts_import_no_web_framework() -> None:
    for relative in ("api/services.py", "store/accounts.py", "web/charts.py", "web/i18n.py"):
        assert _top_level_imports(SRC / relative) & WEB_FRAMEWORKS == set(), relative
