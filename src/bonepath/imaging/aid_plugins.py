"""Hospital model plug-ins for the candidate-lesion aid (docs/imaging.md "Plug-in interface").

A hospital that has validated its own model adds it without changing bonepath:

- **Entry point** in its package's metadata, group ``bonepath.lesion_aid``
  (``[project.entry-points."bonepath.lesion_aid"] mymodel = "pkg.module:create"``), or
- **a module path** given at run time (``--plugin pkg.module:create`` or
  ``BONEPATH_AID_PLUGINS="pkg.module:create,other:make"``).

``create(weights_dir: pathlib.Path) -> AidPlugin`` receives the folder the hospital provisions
(``--weights DIR`` or ``BONEPATH_AID_WEIGHTS``; for entry points ``<DIR>/<entry point name>``).
Nothing is downloaded. The plug-in must state how it was validated (``validation``); a plug-in
without a statement is refused. Its findings are shown beside the classical candidates, under
its own name and statement, and — like them — only as a reading aid: they never set a record
fact (no code path from here writes the record).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "ENTRY_POINT_GROUP",
    "AidPlugin",
    "PluginError",
    "PluginFinding",
    "PluginValidation",
    "discover_plugins",
    "load_plugin",
    "plugins_from_env",
    "run_plugin",
]

ENTRY_POINT_GROUP = "bonepath.lesion_aid"


class PluginError(ValueError):
    """A plug-in that cannot be used; ``code`` names why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class PluginValidation:
    """How the hospital validated the model (shown with every finding)."""

    statement: str  # e.g. "validated at X hospital on 412 chest CTs, 2025"
    sensitivity: float | None = None
    false_positives_per_scan: float | None = None
    dataset: str = ""


@dataclass(frozen=True)
class PluginFinding:
    """One finding of a plug-in: (z, y, x) voxel indices of the analysed volume."""

    kind: str  # "lytic" | "blastic" | "mixed" | other label of the model
    slice: int
    centroid_zyx: tuple[float, float, float]
    volume_mm3: float | None = None
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slice": self.slice,
            "centroid_zyx": [round(float(c), 1) for c in self.centroid_zyx],
            "volume_mm3": None if self.volume_mm3 is None else round(self.volume_mm3, 1),
            "score": self.score,
        }


@runtime_checkable
class AidPlugin(Protocol):
    """What a plug-in's factory returns."""

    name: str
    version: str
    validation: PluginValidation

    def detect(
        self, hu: npt.NDArray[np.int16], spacing: tuple[float, float, float]
    ) -> Sequence[PluginFinding]: ...


def _check(plugin: object, origin: str) -> AidPlugin:
    if not isinstance(plugin, AidPlugin):
        raise PluginError("NOT_A_PLUGIN", f"{origin}: needs name, version, validation, detect()")
    validation = plugin.validation
    if not isinstance(validation, PluginValidation) or not validation.statement.strip():
        raise PluginError("NOT_VALIDATED", f"{origin}: no validation statement")
    return plugin


def load_plugin(spec: str, weights_dir: str | Path) -> AidPlugin:
    """``module:factory`` called with the weights folder (which must exist)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise PluginError("BAD_PLUGIN_SPEC", f"{spec!r}: expected module:factory")
    weights = Path(weights_dir)
    if not weights.is_dir():
        raise PluginError("WEIGHTS_MISSING", f"{weights}: no such folder")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError("PLUGIN_NOT_FOUND", f"{spec}: {exc}") from exc
    try:
        plugin = factory(weights)
    except Exception as exc:  # a hospital's code: any failure is reported, never fatal
        raise PluginError("PLUGIN_FAILED", f"{spec}: {type(exc).__name__}: {exc}") from exc
    return _check(plugin, spec)


def discover_plugins(weights_root: str | Path) -> list[AidPlugin]:
    """Plug-ins registered under the ``bonepath.lesion_aid`` entry point group."""
    found: list[AidPlugin] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.append(load_plugin(ep.value, Path(weights_root) / ep.name))
    return found


def plugins_from_env(environ: dict[str, str] | None = None) -> list[AidPlugin]:
    """``BONEPATH_AID_PLUGINS`` (comma-separated module:factory) with ``BONEPATH_AID_WEIGHTS``."""
    env = os.environ if environ is None else environ
    specs = [s.strip() for s in env.get("BONEPATH_AID_PLUGINS", "").split(",") if s.strip()]
    weights = env.get("BONEPATH_AID_WEIGHTS", "")
    if specs and not weights:
        raise PluginError("WEIGHTS_MISSING", "BONEPATH_AID_WEIGHTS is not set")
    return [load_plugin(s, weights) for s in specs]


def run_plugin(
    plugin: AidPlugin, hu: npt.NDArray[np.int16], spacing: tuple[float, float, float]
) -> dict[str, Any]:
    """The plug-in's findings as JSON, or its error; a failing plug-in never stops the aid."""
    head: dict[str, Any] = {
        "name": plugin.name,
        "version": plugin.version,
        "validation": {
            "statement": plugin.validation.statement,
            "sensitivity": plugin.validation.sensitivity,
            "false_positives_per_scan": plugin.validation.false_positives_per_scan,
            "dataset": plugin.validation.dataset,
        },
    }
    try:
        findings = list(plugin.detect(hu, spacing))
    except Exception as exc:  # a hospital's code
        return {**head, "findings": [], "error": f"{type(exc).__name__}: {exc}"}
    return {**head, "findings": [f.to_json() for f in findings], "error": None}
