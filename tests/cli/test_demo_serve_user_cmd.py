"""`bonepath user` creates accounts the app accepts; `bonepath demo --no-serve` prints one
login per role that works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bonepath.cli.demo_cmd import mdt_line
from bonepath.cli.main import app
from bonepath.store import accounts
from bonepath.store.repository import open_store


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("BONEPATH_DATABASE_URL", url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return url


def _register(runner: CliRunner, *hospital_ids: str) -> None:
    for hospital_id in hospital_ids:
        saved = runner.invoke(
            app,
            ["user", "hospital", hospital_id, "--name", f"{hospital_id} 医院", "--type", "general"],
        )
        assert saved.exit_code == 0, saved.output


def test_user_add_refuses_an_unknown_hospital(env: str) -> None:
    runner = CliRunner()
    add = ["user", "add", "wang", "--role", "nurse", "--password", "a long enough one"]
    refused = runner.invoke(app, [*add, "--hospital", "H99"])
    assert refused.exit_code == 2 and "unknown hospital H99" in refused.output
    bad_type = runner.invoke(app, ["user", "hospital", "H99", "--name", "x", "--type", "clinic"])
    assert bad_type.exit_code == 2 and "general, cancer" in bad_type.output
    _register(runner, "H99")
    assert runner.invoke(app, [*add, "--hospital", "H99"]).exit_code == 0
    assert runner.invoke(app, [*add[:2], "zhao", *add[3:], "--hospital", "*"]).exit_code == 0


def test_user_add_list_token_and_refusals(env: str) -> None:
    runner = CliRunner()
    _register(runner, "H01", "H02")
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "wang",
            "--role",
            "nurse",
            "--hospital",
            "H01",
            "--hospital",
            "H02",
            "--password",
            "a long enough one",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["user", "list"])
    assert "wang\tnurse\tH01,H02" in listed.output
    taken = runner.invoke(
        app, ["user", "add", "wang", "--role", "nurse", "--hospital", "H01", "--password", "x" * 12]
    )
    assert taken.exit_code == 2 and "taken" in taken.output
    short = runner.invoke(
        app, ["user", "add", "li", "--role", "nurse", "--hospital", "H01", "--password", "short"]
    )
    assert short.exit_code == 2
    role = runner.invoke(
        app, ["user", "add", "li", "--role", "surgeon", "--hospital", "H01", "--password", "x" * 12]
    )
    assert role.exit_code == 2 and "clinician" in role.output
    token = runner.invoke(app, ["user", "token", "wang", "--name", "his"]).output.strip()
    with open_store(env) as store:
        principal = accounts.principal_for_token(store.engine, token)
        assert principal is not None
        assert (principal.username, principal.hospitals) == ("wang", frozenset({"H01", "H02"}))
        assert accounts.authenticate(store.engine, "wang", "a long enough one", "t") is not None


def test_user_token_list_revoke_and_login_locks(env: str) -> None:
    runner = CliRunner()
    _register(runner, "H01")
    add = ["user", "add", "wang", "--role", "nurse", "--hospital", "H01"]
    assert runner.invoke(app, [*add, "--password", "a long enough one"]).exit_code == 0
    first = runner.invoke(app, ["user", "token", "wang", "--name", "his"]).output.strip()
    second = runner.invoke(app, ["user", "token", "wang", "--name", "lis"]).output.strip()
    with open_store(env) as store:
        assert accounts.principal_for_token(store.engine, first) is not None
    listed = runner.invoke(app, ["user", "token", "wang", "--list"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.splitlines()[1:]]
    assert [(r[1], r[3] != "-", r[5]) for r in rows] == [
        ("his", True, "active"),
        ("lis", False, "active"),
    ]
    one = runner.invoke(app, ["user", "token", "wang", "--revoke", "--id", rows[1][0]])
    assert one.exit_code == 0 and "1 token(s)" in one.output
    with open_store(env) as store:
        assert accounts.principal_for_token(store.engine, second) is None
        assert accounts.principal_for_token(store.engine, first) is not None
    assert runner.invoke(app, ["user", "token", "wang", "--revoke"]).exit_code == 0
    assert runner.invoke(app, ["user", "token", "wang", "--revoke", "--id", "999"]).exit_code == 2
    assert runner.invoke(app, ["user", "token", "nobody", "--list"]).exit_code == 2
    with open_store(env) as store:
        assert accounts.principal_for_token(store.engine, first) is None
        for _ in range(accounts.ACCOUNT_MAX_FAILURES):
            assert accounts.authenticate(store.engine, "wang", "wrong password", "10.0.0.7") is None
    locks = runner.invoke(app, ["user", "locks"])
    assert "account\twang\t5\t" in locks.output
    lifted = runner.invoke(app, ["user", "unlock", "wang"])
    assert lifted.exit_code == 0 and "lock lifted" in lifted.output
    with open_store(env) as store:
        assert accounts.authenticate(store.engine, "wang", "a long enough one", "10.0.0.7")
    assert "no failed logins" in runner.invoke(app, ["user", "unlock", "--address", "x"]).output


def test_demo_no_serve_prints_a_working_login_per_role(env: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--patients", "20", "--no-serve", "--lang", "en"])
    assert result.exit_code == 0, result.output
    logins = re.findall(r"^\s+(demo-[\w-]+)\s+(\w+)\s+(\S+)$", result.output, re.MULTILINE)
    assert {role for _u, role, _p in logins} == {
        "clinician",
        "nurse",
        "mdt_coordinator",
        "quality_manager",
        "admin",
    }
    assert "URL: http://127.0.0.1:8000/" in result.output
    with open_store(env) as store:
        for username, role, password in logins:
            principal = accounts.authenticate(store.engine, username, password, "t")
            assert principal is not None and principal.role.value == role
        assert store.count_patients() == 20


def test_serve_starts_the_app_on_the_given_port(env: str, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx2 as httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "bonepath", "serve", "--port", str(port)],
        env={**os.environ, "BONEPATH_DATABASE_URL": env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout and process.stdout.read()
                assert time.monotonic() < deadline, "bonepath serve did not start"
                time.sleep(0.2)
        assert login.status_code == 200 and "登录" in login.text
        schema = httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5).json()
        assert "/api/patients/{source}/{patient_id}/events/{family}" in schema["paths"]
        assert "/login" not in schema["paths"]  # pages are not API
        assert httpx.get(f"http://127.0.0.1:{port}/api/docs", timeout=5).status_code == 404
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "GET /login" not in output  # no access log: URLs name patients


def test_serve_with_two_workers_shares_the_replay_protection(env: str, tmp_path: Path) -> None:
    """`bonepath serve --workers 2`: two server processes on one port; a CDS Hooks JWT is
    accepted once and its replay refused whichever process gets it (the jti is in the store)."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    import uuid

    import httpx
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    iss = "https://ehr.example.org"
    clients = tmp_path / "cds-clients.json"
    clients.write_text(
        json.dumps(
            {"clients": [{"iss": iss, "jwks": {"keys": [{**jwk, "kid": "k1", "alg": "RS384"}]}}]}
        ),
        encoding="utf-8",
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bonepath", "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "BONEPATH_DATABASE_URL": env, "BONEPATH_CDS_CLIENTS": str(clients)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                assert httpx.get(f"{base}/login", timeout=5).status_code == 200
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout and process.stdout.read()
                assert time.monotonic() < deadline, "bonepath serve --workers 2 did not start"
                time.sleep(0.2)
        # /login may answer from the first worker before the second has been spawned (a
        # loaded CI machine): wait for both worker processes, within the same deadline
        while len(_worker_pids(process.pid)) < 2:
            assert process.poll() is None, process.stdout and process.stdout.read()
            assert time.monotonic() < deadline, "bonepath serve --workers 2 started one worker"
            time.sleep(0.2)
        url = f"{base}/cds-services/bonepath-patient-view"
        statuses = []
        for _ in range(6):
            now = int(time.time())
            claims = {"iss": iss, "sub": "ehr", "aud": url, "iat": now, "exp": now + 240}
            token = jwt.encode(
                {**claims, "jti": uuid.uuid4().hex}, key, algorithm="RS384", headers={"kid": "k1"}
            )
            headers = {"Authorization": f"Bearer {token}"}
            # authenticated first; the empty body is then refused (400), not the token
            first = httpx.post(url, json={}, headers=headers, timeout=10)
            again = httpx.post(url, json={}, headers=headers, timeout=10)
            statuses.append((first.status_code, again.status_code))
        assert statuses == [(400, 401)] * 6
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _worker_pids(server_pid: int) -> set[int]:
    """uvicorn's worker processes of one `bonepath serve --workers N`."""
    return {
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(entry) == server_pid and "spawn_main" in _cmdline(entry)
    }


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_demo_names_mdt_case_states_in_the_chosen_language() -> None:
    """Browser walk, 2026-12: the Chinese demo printed "MDT病例：decided 1, discussed 1"."""
    counts = {"discussed": 1, "decided": 1, "implemented": 1}
    assert mdt_line(counts, zh=True) == "MDT病例：已决定 1、已讨论 1、已执行 1"
    assert mdt_line(counts, zh=False) == "MDT cases: decided 1, discussed 1, implemented 1"
