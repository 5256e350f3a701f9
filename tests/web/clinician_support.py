"""A patient whose findings ask for every kind of fact the forms answer (issue 15 item 3)."""

from __future__ import annotations

from typing import Any

from api.support import AS_OF, _patient
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store

GAPS_ID = "A-GAPS"


def gaps_patient(pid: str = GAPS_ID) -> dict[str, Any]:
    """Zoledronic acid since 2026-09-10 (doses every 28 days), creatinine known, but no
    weight (SCORE-CG), no pain score (PAIN-01), no supplement (SAFE-06), a femur lesion
    without cortical involvement (SURG-01) and a thoracic-spine lesion without level,
    alignment, collapse or posterolateral involvement (SURG-02), and for Tokuhashi (SURG-03)
    no KPS, visceral status or Frankel grade."""
    record = _patient(
        pid,
        "HA",
        bta_plan={"drug": "zoledronic_acid", "interval_days": 28},
        events={
            "labs": [
                {"date": "2026-09-08", "test": "creatinine", "value": 0.9, "unit": "mg/dL"},
                {"date": "2026-10-06", "test": "creatinine", "value": 0.92, "unit": "mg/dL"},
                {"date": "2026-10-30", "test": "calcium", "value": 2.3, "unit": "mmol/L"},
                {"date": "2026-10-30", "test": "albumin", "value": 40, "unit": "g/L"},
            ],
            "dental": [{"date": "2026-08-20", "result": "ok"}],
            "bta": [
                {"date": d, "drug": "zoledronic_acid", "dose_mg": 4.0, "route": "iv"}
                for d in ("2026-09-10", "2026-10-08")
            ],
        },
    )
    record["bone_metastasis"]["lesions"] = [
        {"site": "femur", "kind": "lytic"},
        {"site": "thoracic_spine", "kind": "lytic"},
    ]
    return record


def add_gaps_patient(store: Store) -> None:
    store.upsert_records([parse_record(gaps_patient(), today=AS_OF)], import_source="tests")
