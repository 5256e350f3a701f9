"""Issue 15 item 7 in a real browser: the administrator's day, in Chinese and once in English —
register a new hospital, create its first user (an unknown hospital refused on the way), give
the user an API token, then look up the audit log with filters and local times (Asia/Shanghai).
Screenshots go to ``tests/web/artifacts/`` (``admin-*.png``: the user guides' pictures)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.support import PASSWORD
from bonepath.store import accounts
from bonepath.store.repository import Store
from web.test_browser import ARTIFACTS, base_url, log_in, page  # noqa: F401 - fixtures

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _admins_day(tab: Any, store: Store, lang: str, hospital: str, username: str) -> dict[str, str]:
    """Walk the day; return the texts seen at each step for the language checks."""
    seen: dict[str, str] = {}
    tab.click("header nav a[href='/admin/hospitals']")
    tab.wait_for_url("**/admin/hospitals")
    seen["hospitals_title"] = tab.locator("h1").inner_text()
    form = tab.locator("#save-hospital form")
    form.locator("input[name=hospital_id]").fill(hospital)
    form.locator("input[name=name]").fill(
        "县人民医院" if lang == "zh" else "County People's Hospital"
    )
    form.locator("select[name=city_tier]").select_option("tier3-4")
    form.locator("select[name=type]").select_option("general")
    form.locator("input[name=department][value=oncology]").check()
    form.locator("button[type=submit]").click()
    tab.wait_for_selector("#saved")
    seen["hospital_saved"] = tab.locator("#saved").inner_text()
    seen["hospital_row"] = tab.locator(f"tr[data-hospital='{hospital}']").inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"admin-hospitals.{lang}.png"), full_page=True)

    tab.click("header nav a[href='/admin/users']")
    tab.wait_for_url("**/admin/users")
    form = tab.locator("#new-user form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill("王护士")
    form.locator("select[name=role]").select_option("nurse")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()  # no hospital ticked: the browser allows it
    tab.wait_for_selector("#admin-error")
    seen["no_hospital"] = tab.locator("#admin-error").inner_text()
    form = tab.locator("#new-user form")
    form.locator(f"input[name=hospital][value='{hospital}']").check()
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    tab.wait_for_url(f"**/admin/users/{username}?saved=created")
    seen["created"] = tab.locator("#saved").inner_text()
    seen["facts"] = tab.locator("#user-facts").inner_text()
    tab.locator("#tokens input[name=name]").fill("HIS")
    tab.locator("#tokens form:not(.inline) button[type=submit]").last.click()
    tab.wait_for_selector("#new-token")
    seen["token"] = tab.locator("#new-token").inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"admin-user.{lang}.png"), full_page=True)

    tab.click("header nav a[href='/admin/audit']")
    tab.wait_for_url("**/admin/audit")
    filters = tab.locator("#audit-filters")
    filters.locator("input[name=user]").fill("admin")
    filters.locator("select[name=action]").select_option("admin.")
    filters.locator("button[type=submit]").click()
    tab.wait_for_url("**/admin/audit?*action=admin.*")
    seen["audit_header"] = tab.locator("table.audit thead").inner_text()
    seen["audit"] = tab.locator("table.audit tbody").inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"admin-audit.{lang}.png"), full_page=True)
    return seen


def _created_at_local(store: Store, username: str) -> str:
    [entry] = [
        e
        for e in accounts.read_audit(store.engine, action="admin.user.create", outcome="ok")
        if username in (e.detail or "")
    ]
    return entry.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def test_admins_day_in_chinese(page: Any, store: Store) -> None:  # noqa: F811 - the fixture
    log_in(page, "admin")
    seen = _admins_day(page, store, "zh", "H41", "nurse_h41")
    assert seen["hospitals_title"] == "医院"
    assert seen["hospital_saved"] == "医院已保存。"
    assert all(
        t in seen["hospital_row"] for t in ("县人民医院", "三四线城市", "综合医院", "肿瘤科")
    )
    assert seen["no_hospital"] == "请至少选择一家医院。"
    assert seen["created"] == "用户已创建。"
    assert "护士" in seen["facts"] and "县人民医院（H41）" in seen["facts"]
    assert "新令牌（仅此一次显示，请复制）" in seen["token"] and "bp_" in seen["token"]
    assert "时间 (Asia/Shanghai)" in seen["audit_header"]
    assert "admin.user.create" in seen["audit"] and "admin.hospital.save" in seen["audit"]
    assert "login" not in seen["audit"].split()  # filtered to administration
    assert _created_at_local(store, "nurse_h41") in seen["audit"]  # UTC+8, not UTC
    user = accounts.find_user(store.engine, "nurse_h41")
    assert (user.role.value, user.hospitals, user.active) == ("nurse", ("H41",), True)


def test_admins_day_in_english(page: Any, store: Store) -> None:  # noqa: F811 - the fixture
    log_in(page, "admin")
    page.click("#lang-switch")
    page.wait_for_url("**/worklist")
    seen = _admins_day(page, store, "en", "H42", "nurse_h42")
    assert seen["hospitals_title"] == "Hospitals"
    assert seen["hospital_saved"] == "Hospital saved."
    assert "Tier 3–4 city" in seen["hospital_row"] and "General hospital" in seen["hospital_row"]
    assert seen["no_hospital"] == "Choose at least one hospital."
    assert seen["created"] == "User created."
    assert "County People's Hospital" in seen["facts"]
    assert "When (Asia/Shanghai)" in seen["audit_header"]
    assert _created_at_local(store, "nurse_h42") in seen["audit"]
