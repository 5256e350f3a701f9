"""A small stand-in for a hospital's validated model (the aid's plug-in interface, tested).

``create(weights_dir)`` reads ``threshold.txt`` from the weights folder the hospital provisions
(the stand-in's "weights") and reports the densest voxel above it as one blastic finding.
``create_unvalidated`` lacks a validation statement; ``create_broken`` fails in ``detect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bonepath.imaging.aid_plugins import PluginFinding, PluginValidation


class StandIn:
    name = "standin-densest-voxel"
    version = "0.1"

    def __init__(self, threshold: float, statement: str = "stand-in, validated on nothing (test)"):
        self.threshold = threshold
        self.validation = PluginValidation(statement=statement, sensitivity=0.5, dataset="none")

    def detect(
        self, hu: npt.NDArray[np.int16], spacing: tuple[float, float, float]
    ) -> Sequence[PluginFinding]:
        z, y, x = np.unravel_index(int(np.argmax(hu)), hu.shape)
        if hu[z, y, x] < self.threshold:
            return []
        return [PluginFinding("blastic", int(z), (float(z), float(y), float(x)), None, 0.9)]


class Broken(StandIn):
    def detect(
        self, hu: npt.NDArray[np.int16], spacing: tuple[float, float, float]
    ) -> Sequence[PluginFinding]:
        raise RuntimeError("model file corrupt")


def create(weights_dir: Path) -> StandIn:
    return StandIn(float((weights_dir / "threshold.txt").read_text().strip()))


def create_unvalidated(weights_dir: Path) -> StandIn:
    return StandIn(0.0, statement="  ")


def create_broken(weights_dir: Path) -> StandIn:
    return Broken(0.0)
