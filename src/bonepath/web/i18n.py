"""Languages of the pages: Chinese (zh_CN, the default) and English, from Babel catalogs.

Templates and page code write English message ids (``_("Worklist")``); the catalogs in
``web/i18n/<locale>/LC_MESSAGES/messages.po`` translate them (the English catalog is complete
too, so a missing id shows up in both). The compiled ``.mo`` files are committed beside the
``.po`` files; ``tests/web/test_i18n.py`` fails when a template or page string has no
translation or a ``.mo`` is stale. Rule titles and explanations are not in the catalogs:
they come from the rule objects (``Finding.title(lang)``, the catalogue's zh/en text).

Regenerate after changing strings: ``.venv/bin/python -m bonepath.web.i18n``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final, Literal

from babel.support import NullTranslations, Translations

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
DEFAULT_LANG: Final[Lang] = "zh"
LOCALES: Final[dict[Lang, str]] = {"zh": "zh_CN", "en": "en"}
CATALOG_DIR: Final = Path(__file__).with_name("i18n")
TEMPLATE_DIR: Final = Path(__file__).with_name("templates")


def parse_lang(value: str | None) -> Lang:
    return "en" if value == "en" else DEFAULT_LANG


@functools.cache
def translations(lang: Lang) -> NullTranslations:
    """The compiled catalog of ``lang``."""
    return Translations.load(str(CATALOG_DIR), locales=[LOCALES[lang]], domain="messages")


def gettext(lang: Lang, message: str) -> str:
    return translations(lang).ugettext(message)


def extract() -> list[tuple[str, tuple[str, ...]]]:
    """Every message id of the templates and the web/api Python code, with where it is."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    web = Path(__file__).parent
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"autoescape": "true"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(web), method_map, options, keywords={"_": None, "N_": None, "t": None}
    ):
        if isinstance(message, str):
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return sorted((m, tuple(w)) for m, w in found.items())


def update_catalogs() -> list[str]:
    """Sync both catalogs with the source: new ids added (English msgstr = the id; Chinese
    kept where translated, else empty), gone ids dropped, ``.mo`` compiled. Returns the ids
    still without Chinese."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    ids = extract()
    untranslated: list[str] = []
    for lang in LANGS:
        locale = LOCALES[lang]
        folder = CATALOG_DIR / locale / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        po_path = folder / "messages.po"
        old: dict[str, str] = {}
        if po_path.exists():
            with po_path.open("rb") as po:
                old = {str(m.id): str(m.string) for m in read_po(po) if m.id and m.string}
        catalog = Catalog(locale=locale, project="bonepath", charset="utf-8")
        for message, where in ids:
            text = message if lang == "en" else old.get(message, "")
            if not text:
                untranslated.append(message)
            locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
            catalog.add(message, text, locations=locations)
        with po_path.open("wb") as po:
            write_po(po, catalog, width=100, sort_output=True, omit_header=True)
        with (folder / "messages.mo").open("wb") as mo:
            write_mo(mo, catalog)
    return untranslated


def main() -> None:  # pragma: no cover - a maintenance tool
    missing = update_catalogs()
    if missing:
        raise SystemExit("no Chinese yet for: " + " | ".join(missing))


if __name__ == "__main__":  # pragma: no cover
    main()
