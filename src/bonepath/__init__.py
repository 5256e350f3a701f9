"""bonepath: the care pathway for lung-cancer patients with (or at risk of) bone metastasis.

The public Python API is small: parse a record, evaluate it by the guideline on a day.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
