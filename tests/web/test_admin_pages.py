"""Administration pages over HTTP (issue 15 item 7): users, hospitals, the audit log in local
time with filters, one audit row per list request."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from api.support import PASSWORD, login
from bonepath.store import accounts, hospitals
from bonepath.store.repository import Store


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-id="\d+" data-action="([^"]+)"', page)


def test_admin_registers_a_hospital_and_creates_its_first_user(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "admin")
    form = {
        "csrf_token": csrf,
        "username": "nurse_h41",
        "display_name": "王护士",
        "role": "nurse",
        "hospital": "H41",
        "password": PASSWORD,
    }
    refused = client.post("/admin/users", data=form)
    assert refused.status_code == 422
    assert "未知医院：请先在“医院”页登记，或导入该院患者。" in refused.text
    assert "nurse_h41" not in {u.username for u in accounts.list_users(store.engine)}
    saved = client.post(
        "/admin/hospitals",
        data={
            "csrf_token": csrf,
            "hospital_id": "H41",
            "name": "县人民医院",
            "city_tier": "tier3-4",
            "type": "general",
            "department": ["oncology", "thoracic_surgery"],
        },
    )
    assert saved.status_code == 200 and "医院已保存。" in saved.text
    row = re.search(r'<tr data-hospital="H41">(.*?)</tr>', saved.text)
    assert row is not None
    assert all(
        t in row.group(1) for t in ("县人民医院", "三四线城市", "综合医院", "肿瘤科、胸外科")
    )
    created = client.post("/admin/users", data=form)
    assert created.status_code == 200 and "用户已创建。" in created.text
    assert "县人民医院（H41）" in created.text
    user = accounts.find_user(store.engine, "nurse_h41")
    assert (user.role.value, user.hospitals, user.display_name) == ("nurse", ("H41",), "王护士")
    assert accounts.authenticate(store.engine, "nurse_h41", PASSWORD, "t") is not None
    [entry] = accounts.read_audit(store.engine, action="admin.user.create", outcome="ok")
    assert entry.username == "admin" and "nurse_h41" in (entry.detail or "")


def test_admin_changes_role_hospitals_password_and_tokens(client: TestClient, store: Store) -> None:
    csrf = login(client, "admin")
    base = "/admin/users/nurse_a"
    assert "HA" in client.get(base).text
    page = client.post(f"{base}/role", data={"csrf_token": csrf, "role": "clinician"})
    assert "角色已更改" in page.text
    page = client.post(f"{base}/hospitals", data={"csrf_token": csrf, "hospital": ["HA", "HB"]})
    assert "医院授权已更改。" in page.text
    unknown = client.post(f"{base}/hospitals", data={"csrf_token": csrf, "hospital": "H99"})
    assert unknown.status_code == 422 and "未知医院" in unknown.text
    page = client.post(f"{base}/tokens", data={"csrf_token": csrf, "name": "HIS"})
    token = re.search(r'id="new-token">.*?<code>(bp_[^<]+)</code>', page.text)
    assert token is not None
    assert accounts.principal_for_token(store.engine, token.group(1)) is not None
    short = client.post(f"{base}/password", data={"csrf_token": csrf, "password": "short"})
    assert short.status_code == 422 and "密码至少需要10个字符。" in short.text
    client.post(f"{base}/password", data={"csrf_token": csrf, "password": "a new long one"})
    assert accounts.principal_for_token(store.engine, token.group(1)) is None  # revoked
    client.post(f"{base}/active", data={"csrf_token": csrf, "active": "0"})
    user = accounts.find_user(store.engine, "nurse_a")
    assert (user.role.value, user.hospitals, user.active) == ("clinician", ("HA", "HB"), False)
    assert accounts.authenticate(store.engine, "nurse_a", "a new long one", "t") is None
    # without the CSRF token nothing changes
    assert client.post(f"{base}/active", data={"active": "1"}).status_code == 403


def test_a_hospital_admin_manages_only_their_hospitals(client: TestClient, store: Store) -> None:
    accounts.create_user(store.engine, "admin_a", PASSWORD, "admin", ["HA"])
    csrf = login(client, "admin_a")
    users = client.get("/admin/users").text
    assert 'data-user="nurse_a"' in users and 'data-user="doc_b"' not in users
    assert client.get("/admin/users/doc_b", headers={"Accept": "text/html"}).status_code == 404
    form = {"csrf_token": csrf, "username": "x_b", "role": "nurse", "password": PASSWORD}
    refused = client.post("/admin/users", data={**form, "hospital": "HB"})
    assert refused.status_code == 403 and "只能授权您本人被授权的医院。" in refused.text
    new = client.post(
        "/admin/hospitals", data={"csrf_token": csrf, "hospital_id": "H42", "name": "某医院"}
    )
    assert new.status_code == 403
    assert hospitals.unknown_hospitals(store.engine, ["H42"]) == ["H42"]


def test_audit_log_in_local_time_with_filters_and_one_row_per_list(
    client: TestClient, store: Store
) -> None:
    login(client, "nurse_a")  # opens the patient list
    client.get("/worklist")
    client.get("/worklist")
    client.get("/patients/his/A-DUE")
    worklist_rows = accounts.read_audit(store.engine, action="worklist.read")
    assert len(worklist_rows) == 2  # one per view, however many patients it showed
    assert {p[1] for p in worklist_rows[0].patients} >= {"A-DUE", "A-RENAL"}
    client.cookies.clear()
    login(client, "admin")
    page = client.get("/admin/audit", params={"user": "nurse_a", "patient": "A-DUE"}).text
    assert _rows(page) == ["patient.read", "worklist.read", "worklist.read", "patient.list"]
    assert "时间 (Asia/Shanghai)" in page and "查看工作清单" in page
    entry = accounts.read_audit(store.engine, username="nurse_a", action="patient.read")[0]
    shanghai = entry.at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert shanghai.strftime("%Y-%m-%d %H:%M:%S") in page
    only = client.get("/admin/audit", params={"user": "nurse_a", "action": "worklist."}).text
    assert _rows(only) == ["worklist.read", "worklist.read"]
    blank = client.get("/admin/audit", params={"user": "nurse_a", "from": "", "to": ""})
    assert blank.status_code == 200 and _rows(blank.text)[-1] == "login"  # empty dates: all
    today = shanghai.date()
    empty = client.get(
        "/admin/audit", params={"from": (today + dt.timedelta(days=1)).isoformat()}
    ).text
    assert _rows(empty) == [] and "没有符合筛选条件的记录。" in empty
    reversed_ = client.get(
        "/admin/audit",
        params={"from": today.isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()},
    )
    assert reversed_.status_code == 422
    assert "起始日期晚于截止日期：请交换两个日期。" in reversed_.text
    client.get("/lang/en")
    english = client.get("/admin/audit", params={"user": "nurse_a"}).text
    assert "When (Asia/Shanghai)" in english and "Worklist viewed" in english


def test_admin_menu_names_the_network_settings_apart_from_the_network(client: TestClient) -> None:
    """The admin's menu had two links both reading 区域MDT协作网络 (the network, its settings)."""
    login(client, "admin")
    page = client.get("/admin/users").text
    nav = page.split("<nav", 1)[1].split("</nav>", 1)[0] if "<nav" in page else page
    network = re.search(r'<a href="/mdt/network">([^<]+)</a>', nav)
    settings = re.search(r'<a href="/admin/network">([^<]+)</a>', nav)
    assert network is not None and settings is not None
    assert network.group(1) == "区域MDT协作网络"
    assert settings.group(1) == "区域MDT网络设置"


def test_each_hospital_checkbox_sits_beside_its_name(client: TestClient) -> None:
    """The grant checkboxes stood above their names (a column label), hard to pair up."""
    login(client, "admin")
    page = client.get("/admin/users").text
    boxes = re.findall(r'<label([^>]*)><input type="checkbox" name="hospital"', page)
    assert boxes and all('class="check"' in attrs for attrs in boxes)
    edit = client.get("/admin/users/admin").text
    boxes = re.findall(r'<label([^>]*)><input type="checkbox" name="hospital"', edit)
    assert boxes and all('class="check"' in attrs for attrs in boxes)
