"""The public pages (Danish, server-rendered with Jinja2, no JavaScript): the guidance pages
(commitment 1) and the accessibility statement, in the look of Det Fælles Designsystem done in
the app's own CSS (web/static/).

`router` holds the pages; `static_files()` is mounted at /static by `web.app.create_app`.
Pages answer HTML, also when something is not found (a Danish 404 page); the API under
/api/v1 keeps its problem documents.
"""

from __future__ import annotations

from web.pages.routes import (
    STATIC_DIR,
    message_page,
    on_form_refused,
    on_http,
    render,
    router,
    static_files,
)

__all__ = [
    "STATIC_DIR",
    "message_page",
    "on_form_refused",
    "on_http",
    "render",
    "router",
    "static_files",
]
