"""The patient page says when a CT's bone-window status came from its report (an unvalidated
aid, clarifications C-28) and shows the evidence sentence; a recorded flag is shown as before."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from api.support import AS_OF, due_patient, login
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store

EVIDENCE = "所见骨质未见明显异常"


def _patient(pid: str, reviewed: bool | None) -> dict[str, object]:
    data = copy.deepcopy(due_patient(pid))
    ct: dict[str, object] = {
        "date": "2026-10-20",
        "modality": "ct",
        "region": "chest",
        "report_text": f"双肺多发结节。{EVIDENCE}。",
    }
    if reviewed is not None:
        ct["bone_window_reviewed"] = reviewed
    data["events"]["imaging"] = [ct]  # type: ignore[index]
    return data


def test_a_flag_from_the_report_is_marked_and_shows_its_evidence(
    client: TestClient, store: Store
) -> None:
    store.upsert_records(
        [
            parse_record(_patient("A-REPORT", None), today=AS_OF),
            parse_record(_patient("A-TYPED", False), today=AS_OF),
        ],
        import_source="tests",
    )
    login(client, "doc_a")
    page = client.get("/patients/his/A-REPORT").text
    assert "已阅骨窗 (由报告判断（未经验证的辅助提示）)" in page
    assert f"报告依据: <q>{EVIDENCE}</q>" in page
    typed = client.get("/patients/his/A-TYPED").text
    assert "未阅骨窗" in typed and "由报告判断" not in typed and "报告依据" not in typed
    client.cookies.set("bonepath_lang", "en")
    english = client.get("/patients/his/A-REPORT").text
    assert "bone window reviewed (from the report (unvalidated aid))" in english
    assert f"Report evidence: <q>{EVIDENCE}</q>" in english
