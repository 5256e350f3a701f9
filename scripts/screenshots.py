"""The user guides' pictures (docs/img/), taken by Playwright from a seeded application.

A temporary SQLite store holds 300 synthetic patients (seed 2024, as of 2026-11-01) with
invented names and phone numbers in their ``identity`` (so the worklist shows whom to call),
one account per role; uvicorn serves the app on a free port with the day pinned, and
Debian's chromium (``/usr/bin/chromium``, no download) takes the pages in Chinese and English:

    .venv/bin/python scripts/screenshots.py            # writes docs/img/*.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Pictures: ``worklist.{zh,en}.png`` (the day's list), ``nurse-worklist.{zh,en}.png`` (the
injections filtered from the keyboard, the current row marked), ``quality.zh.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from bonepath.api.app import create_app
from bonepath.interop.importer import import_paths
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import open_store
from bonepath.synth import CohortSpec, write_cohort

AS_OF = dt.date(2026, 11, 1)
PASSWORD = "screenshots password"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["秀英", "桂英", "建国", "志强", "丽娟", "国华", "玉兰", "海燕", "德明", "淑珍"]
ROOT = Path(__file__).resolve().parent.parent


def _identities(cohort: Path) -> None:
    """Give every synthetic record an invented name and phone (the cohort has none)."""
    lines = cohort.read_text(encoding="utf-8").splitlines()
    out = []
    for n, line in enumerate(lines):
        record = json.loads(line)
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]
        record["identity"] = {"name": name, "phone": f"139-{n:04d}-{(n * 7919) % 10000:04d}"}
        out.append(json.dumps(record, ensure_ascii=False))
    cohort.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--patients", type=int, default=300)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/shots.sqlite3"
        cohort = Path(tmp) / "cohort.ndjson"
        write_cohort(CohortSpec(patients=args.patients, seed=2024, as_of=AS_OF), cohort)
        _identities(cohort)
        store = open_store(url)
        import_paths(store, [cohort], today=AS_OF)
        accounts.create_user(store.engine, "nurse", PASSWORD, "nurse", ["*"])
        accounts.create_user(store.engine, "quality", PASSWORD, "quality_manager", ["*"])
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            for lang in ("zh", "en"):
                context = browser.new_context(
                    base_url=base, viewport={"width": 1360, "height": 860}, locale="zh-CN"
                )
                tab = context.new_page()
                tab.goto("/login")
                tab.fill("input[name=username]", "nurse")
                tab.fill("input[name=password]", PASSWORD)
                tab.click("button[type=submit]")
                tab.wait_for_url("**/worklist")
                if lang == "en":
                    tab.click("#lang-switch")
                    tab.wait_for_url("**/worklist")
                tab.screenshot(path=str(args.out / f"worklist.{lang}.png"))
                tab.locator("body").press("/")
                tab.keyboard.type("adh")
                tab.keyboard.press("Enter")
                tab.wait_for_url("**/worklist?*rule=adh*")
                tab.locator("body").press("j")
                tab.locator("body").press("j")
                tab.screenshot(path=str(args.out / f"nurse-worklist.{lang}.png"))
                context.close()
            context = browser.new_context(
                base_url=base, viewport={"width": 1360, "height": 1000}, locale="zh-CN"
            )
            tab = context.new_page()
            tab.goto("/login")
            tab.fill("input[name=username]", "quality")
            tab.fill("input[name=password]", PASSWORD)
            tab.click("button[type=submit]")
            tab.wait_for_url("**/worklist")
            tab.goto("/quality")
            tab.screenshot(path=str(args.out / "quality.zh.png"))
            context.close()
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
    sys.stdout.write(f"screenshots written to {args.out}\n")


if __name__ == "__main__":
    main()
