"""The seeded, calibrated synthetic cohort: the project's bundled dataset.

``generate_record(i, seed, as_of)`` draws patient ``i`` of a cohort; :mod:`.cohort` writes
whole cohorts as NDJSON in parallel; :mod:`.params` holds every calibration number with its
source; :mod:`.calibration` turns them into the practice models and the rates the quality
indicators should measure (``expected_rate``). See docs/synthetic-cohort.md.
"""

from __future__ import annotations

from bonepath.synth.calibration import (
    BoneWindowModel,
    SreModel,
    expected_rate,
    fit_bone_window_model,
    fit_sre_model,
)
from bonepath.synth.cohort import CohortSpec, iter_chunks, write_cohort, write_ndjson
from bonepath.synth.generate import generate_record
from bonepath.synth.params import DEFAULT_PARAMS, SynthParams, describe_parameters

__all__ = [
    "DEFAULT_PARAMS",
    "BoneWindowModel",
    "CohortSpec",
    "SreModel",
    "SynthParams",
    "describe_parameters",
    "expected_rate",
    "fit_bone_window_model",
    "fit_sre_model",
    "generate_record",
    "iter_chunks",
    "write_cohort",
    "write_ndjson",
]
