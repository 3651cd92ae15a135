"""Booking a pre-dialogue before any application (issue 8, commitment 3): the public pages
(`pages.py`, `/forhaandsdialog...`) and the staff API (`web/api/bookings.py`,
`/api/v1/pre-dialogues/...`), both over the `booking_api` seam."""

from fastapi import APIRouter

from web.api import bookings
from web.booking import pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(bookings.router, prefix="/api/v1")
