"""The computable guideline: rules.md as cited rule objects, one module per family.

Importing a family module registers its rules; :func:`load_catalogue` imports them all in
catalogue order and validates the result.
"""

from __future__ import annotations

from functools import cache

from bonepath.rules.catalogue import RULES_VERSION, Catalogue, Rule

FAMILY_MODULES = (
    "validation",
    "scoring",
    "screening",
    "diagnosis",
    "bta",
    "safety",
    "adherence",
    "therapy",
    "pain",
    "radiotherapy",
    "surgery",
    "mdt",
)


@cache
def load_catalogue() -> Catalogue:
    """The packaged rule catalogue, validated (CatalogueError if broken)."""
    import importlib

    from bonepath.rules.catalogue import registered_rules

    for name in FAMILY_MODULES:
        importlib.import_module(f"bonepath.rules.{name}")
    return Catalogue(registered_rules(), RULES_VERSION)


__all__ = ["RULES_VERSION", "Catalogue", "Rule", "load_catalogue"]
