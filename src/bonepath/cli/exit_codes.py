"""Process exit codes (interfaces.md): the only place they are defined."""

from __future__ import annotations

from typing import Final

OK: Final = 0
FAILURE: Final = 1
REFUSED: Final = 2
