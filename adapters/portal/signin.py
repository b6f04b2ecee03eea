"""Signing in and out of the portal, the session that follows, and the CSRF token every form carries.

Staff sign in with their district e-mail and app password, guardians with the password their invitation
let them set (gateway.credentials). Failed sign-ins are throttled per address and per client exactly as
SMTP AUTH's are; a locked-out address is refused without checking a hash. Sessions live in a sealed,
HttpOnly, SameSite=Strict cookie; a new one is started at each sign-in. The auth layer ends in one place
(``start_session``), so single sign-on (OpenID Connect) can hand over there next.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from adapters.portal.context import PORTAL, render
from gateway.archive_access import NoWindow, Viewer, viewer

routes = web.RouteTableDef()

_CSRF = "csrf"
_PERSON = "person"
_SINCE = "since"


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


async def checked_form(request: web.Request) -> dict[str, str]:
    """The posted form, once its CSRF token is the session's; 403 otherwise."""
    form = await request.post()
    session = await get_session(request)
    expected, given = session.get(_CSRF), form.get(_CSRF)
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(expected, given)
    ):
        raise web.HTTPForbidden(
            text="This form has expired or did not come from the portal: reload the page."
        )
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def signed_in_viewer(request: web.Request) -> Viewer | None:
    portal = request.app[PORTAL]
    session = await get_session(request)
    person_id, since = session.get(_PERSON), session.get(_SINCE)
    if not isinstance(person_id, str) or not isinstance(since, int | float):
        return None
    person = portal.directory.person(person_id)
    if person is None or time.time() - since > portal.settings.web.session_hours * 3600:
        session.invalidate()  # left the roster, or signed in too long ago
        return None
    try:
        return viewer(person, portal.settings, portal.directory)
    except NoWindow:
        session.invalidate()
        return None


async def require_viewer(request: web.Request) -> Viewer:
    found = await signed_in_viewer(request)
    if found is None:
        raise web.HTTPSeeOther(location=f"/portal/signin?next={quote(request.rel_url.path_qs, safe='/')}")
    return found


@routes.get("/signin")
async def signin_form(request: web.Request) -> web.Response:
    return render(request, "signin.html", csrf=await csrf_token(request), next=_next(request))


@routes.post("/signin")
async def signin(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    form = await checked_form(request)
    email = form.get("email", "").strip().lower()[:254]
    client = request.remote or ""
    wait = portal.sign_ins.wait(email, client)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        return await _refused(request, f"Too many failed sign-ins: try again in {minutes} minutes.", 429)
    person = portal.directory.by_email(email) if email else None
    if person is None or not await portal.password_ok(person, email, form.get("password", "")):
        await portal.sign_ins.failed(email, client)
        return await _refused(request, "That e-mail address and password do not match.", 401)
    portal.sign_ins.succeeded(email)
    try:
        who = viewer(person, portal.settings, portal.directory)
    except NoWindow as refusal:
        return await _refused(request, str(refusal), 403)
    await start_session(request, who)
    raise web.HTTPSeeOther(location=_next(request, form.get("next")))


@routes.post("/signout")
async def signout(request: web.Request) -> web.Response:
    await checked_form(request)
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther(location="/portal/signin")


async def start_session(request: web.Request, who: Viewer) -> Session:
    portal = request.app[PORTAL]
    session = await new_session(request)  # never the pre-sign-in session's id or token
    session[_PERSON] = who.person.person_id
    session[_SINCE] = time.time()
    session[_CSRF] = secrets.token_urlsafe(32)
    await portal.signed_in(
        {"person_id": who.person.person_id, "window": str(who.window), "peer": request.remote or ""}
    )
    return session


async def _refused(request: web.Request, why: str, status: int) -> web.Response:
    form = {"csrf": await csrf_token(request), "next": _next(request), "error": why}
    return render(request, "signin.html", status=status, **form)


def _next(request: web.Request, given: str | None = None) -> str:
    """Where to go after signing in: a portal page only (never another site)."""
    wanted = given if given is not None else request.query.get("next", "")
    if wanted.startswith("/portal/") and not wanted.startswith("/portal//") and "\\" not in wanted:
        return wanted
    return "/portal/"
