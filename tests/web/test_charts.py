"""The SVG charts: text stays text (escaped), values and intervals are written out."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

from bonepath.web.charts import Point, dose_axis, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_dose_axis_writes_each_interval_in_days() -> None:
    svg = dose_axis(
        "BTA <doses>",
        [
            (dt.date(2026, 7, 16), "ZA 4 mg"),
            (dt.date(2026, 8, 13), "ZA 4 mg"),
            (dt.date(2026, 10, 8), "ZA 4 mg"),
        ],
        events=[(dt.date(2026, 9, 1), "SRE")],
        end=dt.date(2026, 11, 2),
        days_label="天",
    )
    written = texts(svg)
    assert written[0] == "BTA <doses>"  # escaped in the markup, text in the document
    assert "28天" in written and "56天" in written
    assert "SRE" in written
    assert "&lt;doses&gt;" in svg


def test_line_chart_labels_every_value_and_shades_the_reference_band() -> None:
    svg = line_chart(
        "CrCl",
        "mL/min",
        [Point(dt.date(2026, 7, 1), 72.4), Point(dt.date(2026, 10, 1), 41.0)],
        band=(60.0, None),
    )
    written = texts(svg)
    assert "CrCl (mL/min)" in written
    assert {"72.4", "41"} <= set(written)
    assert 'class="chart-band"' in svg


def test_no_points_no_chart() -> None:
    assert line_chart("Calcium", "mmol/L", []) == ""
