"""Layering invariants of docs/ARCHITECTURE.md and the generated rule documentation."""

from __future__ import annotations

import ast
from pathlib import Path

from bonepath.rules import load_catalogue
from bonepath.rules.doc import render_markdown

SRC = Path(__file__).resolve().parents[1] / "src" / "bonepath"
FORBIDDEN = ("sqlalchemy", "alembic", "fastapi", "starlette", "fhir", "psycopg", "jinja2")
DOMAIN = ("record", "rules", "engine", "mdt")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_imports_no_orm_web_or_fhir_library() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(_imports(path) & set(FORBIDDEN))
        for layer in DOMAIN
        for path in (SRC / layer).rglob("*.py")
        if _imports(path) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    """docs/rules.md must equal `bonepath rules` output; regenerate with --write."""
    doc = SRC.parents[1] / "docs" / "rules.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(load_catalogue()), (
        "docs/rules.md is stale: run `bonepath rules --write docs/rules.md`"
    )


def _bonepath_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] == "bonepath"}


def test_record_sits_on_vocab_units_errors_and_the_report_checker_only() -> None:
    """ARCHITECTURE.md: ``vocab/units/imaging.report → record``; the checker is pure text."""
    below = ("bonepath.vocab", "bonepath.units", "bonepath.errors", "bonepath.imaging.report")
    record = {
        str(path.relative_to(SRC)): sorted(
            n for n in _bonepath_imports(path) if not n.startswith((*below, "bonepath.record"))
        )
        for path in (SRC / "record").rglob("*.py")
    }
    assert {k: v for k, v in record.items() if v} == {}
    checker = _bonepath_imports(SRC / "imaging" / "report.py")
    assert checker <= {"bonepath.vocab", "bonepath.errors"}, checker


def test_the_api_layer_reaches_the_web_layer_only_from_the_composition_root() -> None:
    """ARCHITECTURE.md: web sits on api; only ``api/app.py`` wires the pages in (routers, the
    error page a browser gets), so no API module imports the page code (function-local imports
    count: ``ast.walk`` sees them)."""
    offenders = {
        str(path.relative_to(SRC)): sorted(
            n for n in _bonepath_imports(path) if n.startswith("bonepath.web")
        )
        for path in (SRC / "api").rglob("*.py")
        if path.name != "app.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}



def test_no_import_cycle_between_the_record_model_and_its_timeline() -> None:
    """The timeline reads the model; the model does not reach back (no local import either)."""
    assert "bonepath.record.timeline" not in _bonepath_imports(SRC / "record" / "model.py")


def test_the_input_readers_share_the_raw_record_without_importing_each_other() -> None:
    """``interop.raw`` holds the type every reader yields; ``files`` dispatches to the other
    readers, so none of them may import ``files`` back (that was a cycle)."""
    readers = [SRC / "interop" / "tabular.py", SRC / "interop" / "mapping.py"]
    readers += sorted((SRC / "interop" / "fhir").rglob("*.py"))
    offenders = [
        str(path.relative_to(SRC))
        for path in readers
        if "bonepath.interop.files" in _bonepath_imports(path)
    ]
    assert offenders == []
