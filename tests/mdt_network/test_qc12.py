"""QC-12: MDT-01 triggers discussed by their due date (docs/quality.md). Hand-built records:
the 14-day class (SAFE-11, ONJ) and the next-day class (RT-05, cord compression)."""

from __future__ import annotations

from quality.support import confirmed, record, units


def _mdt(day: str) -> dict[str, object]:
    return {"date": day, "decision": "继续", "attendees": ["oncology"]}


def _onj(day: str) -> dict[str, object]:
    return {"date": day, "kind": "onj", "stage": 1}


def test_qc12_an_mdt_within_the_due_days_of_the_first_trigger() -> None:
    bone = confirmed("2026-01-20")
    result = units(
        [
            # ONJ on 03-01: due 03-15 (14 days)
            record(
                "day-14", bone=bone, adverse_events=[_onj("2026-03-01")], mdt=[_mdt("2026-03-15")]
            ),
            record(
                "day-15", bone=bone, adverse_events=[_onj("2026-03-01")], mdt=[_mdt("2026-03-16")]
            ),
            record(
                "before", bone=bone, adverse_events=[_onj("2026-03-01")], mdt=[_mdt("2026-02-20")]
            ),
            record("none", bone=bone, adverse_events=[_onj("2026-03-01")]),
            # a trigger whose due date falls after the period end is not judged yet
            record("too-late", bone=bone, adverse_events=[_onj("2026-10-25")]),
        ],
        "QC-12",
    )
    assert result == {"day-14": True, "day-15": False, "before": False, "none": False}


def test_qc12_cord_compression_is_due_the_next_day() -> None:
    bone = {
        "status": "confirmed",
        "confirmed_date": "2026-01-20",
        "lesions": [{"site": "thoracic_spine", "kind": "lytic", "level": "T8"}],
    }
    symptoms = [
        {
            "date": "2026-10-20",
            "bone_pain": 6,
            "pain_sites": ["thoracic_spine"],
            "neuro_deficit": True,
        }
    ]
    result = units(
        [
            record("next-day", bone=bone, symptoms=symptoms, mdt=[_mdt("2026-10-21")]),
            record("two-days", bone=bone, symptoms=symptoms, mdt=[_mdt("2026-10-22")]),
        ],
        "QC-12",
    )
    assert result == {"next-day": True, "two-days": False}
