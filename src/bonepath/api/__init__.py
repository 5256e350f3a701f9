"""The HTTP layer: the FastAPI app (:mod:`.app`), shared dependencies (:mod:`.deps`), the
services the routes call (:mod:`.services`, no web framework), JSON routers (:mod:`.routes`)
and the one translator of bonepath errors to HTTP (:mod:`.errors`). See docs/web.md."""
