"""A refused worklist filter names the kinds as the page's checkboxes do (browser walk,
2026-12: ``类型“task”：没有这个类型（action、reminder、alert、data_needed、info）``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.support import login


def test_unknown_kind_lists_the_kinds_by_their_chinese_names(client: TestClient) -> None:
    login(client, "nurse_a")
    page = client.get("/worklist", params={"kind": "task", "as_of": "2026-10-21"}).text
    assert "没有这个类型（可选：待办、提醒、警示、需补录、信息）" in page
    assert "data_needed" not in page.split("没有这个类型", 1)[1][:80]
