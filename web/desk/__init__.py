"""The caseworkers' desk in the browser (issue 8): the worklist and the staff case page with
the officers' actions (web/desk/routes.py), and the dev stack's mail-sink page
(web/desk/mail_sink.py). See docs/desk.md."""

from fastapi import APIRouter

from web.desk import mail_sink, routes

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(mail_sink.router)
