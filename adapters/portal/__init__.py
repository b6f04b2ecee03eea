"""The portal: each person's window on the archive, in the browser (aiohttp + Jinja2, server-rendered, no
JavaScript). Supervisors search, open threads and decide on held messages; staff see their own messages and
what became of them; guardians see their children's conversations.

This module is the application factory. Sign-in, sessions and CSRF are in ``signin``; the pages in
``pages``; who may see what is decided by the gateway (gateway.archive_access), never here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from jinja2 import Environment, PackageLoader, select_autoescape

from adapters.portal import pages, signin, welcome
from adapters.portal.context import PORTAL, TEMPLATES, Portal

__all__ = ["Portal", "portal_app"]


def portal_app(portal: Portal) -> web.Application:
    """Mounted at /portal/ by the composition root."""
    cookies = EncryptedCookieStorage(
        portal.session_key,
        cookie_name="chaperone_session",
        max_age=int(portal.settings.web.session_hours * 3600),
        path="/portal/",
        secure=portal.settings.web.secure_cookies,
        httponly=True,
        samesite="Strict",
    )
    app = web.Application(middlewares=[_security_headers, session_middleware(cookies)])
    app[PORTAL] = portal
    app[TEMPLATES] = Environment(
        loader=PackageLoader("adapters.portal"), autoescape=select_autoescape(default=True)
    )
    app.add_routes(signin.routes)
    app.add_routes(pages.routes)
    app.add_routes(welcome.routes)
    app.router.add_static("/static/", Path(__file__).parent / "static")
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")  # archive pages stay off shared machines' disks
    return response
