"""Fixtures of the record tests."""

from __future__ import annotations

from typing import Any

import pytest

from .support import minimal


@pytest.fixture
def data() -> dict[str, Any]:
    """A fresh minimal valid record (record-format.md), for a test to spoil."""
    return minimal()
