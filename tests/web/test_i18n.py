"""Both languages are complete: every message id of the templates and page code has Chinese
and English, and the committed .mo files are compiled from the committed .po files."""

from __future__ import annotations

import io

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bonepath.web.i18n import CATALOG_DIR, LOCALES, extract, gettext


def _po(locale: str) -> dict[str, str]:
    with (CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id}


def test_every_message_is_translated_in_both_catalogs() -> None:
    ids = {message for message, _where in extract()}
    assert len(ids) > 150
    for locale in LOCALES.values():
        catalog = _po(locale)
        assert set(catalog) == ids, locale  # no missing and no stale ids
        assert all(catalog.values()), [k for k, v in catalog.items() if not v]


def test_chinese_is_chinese_and_english_is_the_id() -> None:
    zh = _po("zh_CN")
    assert zh["Worklist"] == "工作清单"
    assert zh["Safety warning: this dose is not saved yet"] == "安全警示：本次给药尚未保存"
    untranslated = [k for k, v in zh.items() if v == k and any(c.islower() for c in k)]
    assert untranslated == []  # acronyms (CT, MRI, CTX) may stay as they are
    assert all(k == v for k, v in _po("en").items())


def test_compiled_catalogs_match_their_sources() -> None:
    for locale in LOCALES.values():
        folder = CATALOG_DIR / locale / "LC_MESSAGES"
        with (folder / "messages.mo").open("rb") as mo:
            compiled = {str(m.id): str(m.string) for m in read_mo(io.BytesIO(mo.read())) if m.id}
        assert compiled == _po(locale), locale


def test_gettext_uses_the_compiled_catalogs() -> None:
    assert gettext("zh", "Log in") == "登录"
    assert gettext("en", "Log in") == "Log in"
