"""The company's own case page (issue 8): the signed link from the letters, the MitID
Erhverv seam, uploads and the company's actions; see docs/company-page.md."""

from fastapi import APIRouter

from web.company import others, routes

routes.install()
router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(others.router)
