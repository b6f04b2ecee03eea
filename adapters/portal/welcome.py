"""A guardian's invitation link: choose a password, and be signed in (gateway.invitations)."""

from __future__ import annotations

from aiohttp import web

from adapters.portal.context import PORTAL, render
from adapters.portal.signin import checked_form, csrf_token, start_session
from gateway.archive_access import NoWindow, viewer
from gateway.invitations import MIN_PASSWORD
from policies.parties import Role

routes = web.RouteTableDef()


@routes.get("/welcome/{token}")
async def welcome_form(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    token = request.match_info["token"]
    email = portal.invitations.invited(token)
    if email is None:
        return render(request, "welcome.html", status=404, expired=True)
    return render(request, "welcome.html", csrf=await csrf_token(request), email=email, token=token)


@routes.post("/welcome/{token}")
async def welcome(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    form = await checked_form(request)
    token = request.match_info["token"]
    email = portal.invitations.invited(token)
    person = portal.directory.by_email(email) if email else None
    if email is None or person is None or person.role is not Role.GUARDIAN:
        return render(request, "welcome.html", status=404, expired=True)
    password = form.get("password", "")
    problem = None
    if len(password) < MIN_PASSWORD:
        problem = f"Choose a password of at least {MIN_PASSWORD} characters."
    elif password != form.get("again"):
        problem = "The two passwords differ."
    if problem is not None:
        page = {"csrf": await csrf_token(request), "email": email, "token": token, "error": problem}
        return render(request, "welcome.html", status=400, **page)
    if portal.invitations.redeem(token) != email:
        return render(request, "welcome.html", status=404, expired=True)  # used meanwhile
    await portal.set_guardian_password(email, password)
    try:
        await start_session(request, viewer(person, portal.settings, portal.directory))
    except NoWindow:
        raise web.HTTPSeeOther(location="/portal/signin") from None
    raise web.HTTPSeeOther(location="/portal/search")
