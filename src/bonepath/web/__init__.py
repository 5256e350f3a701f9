"""The server-rendered pages (:mod:`.pages`), their templates, static files, Babel catalogs
(:mod:`.i18n`) and SVG charts (:mod:`.charts`). See docs/web.md."""
