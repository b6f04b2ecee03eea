"""The portal's pages: search (everyone, within their window), a thread, and the review queue with its
verdicts (supervisors). A thread outside the viewer's window is 404, and the attempt is archived by the
reader. Every form posts with the session's CSRF token."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import quote

from aiohttp import web

from adapters.portal.context import PORTAL, render
from adapters.portal.signin import checked_form, csrf_token, require_viewer
from gateway.archive_reader import ACTIONS, search_query
from gateway.case_export import MAX_MESSAGES, ExportRefused, export
from gateway.directory import Directory
from gateway.review import ReviewError

routes = web.RouteTableDef()

_CATEGORIES = (
    "profanity", "harassment", "threat", "sexual", "substances", "secrecy", "confidential",
    "personal_channel", "media_consent", "quiet_hours",
)  # fmt: skip


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    who = await require_viewer(request)
    raise web.HTTPSeeOther(location="/portal/review" if who.may_review else "/portal/search")


@routes.get("/search")
async def search(request: web.Request) -> web.Response:
    who = await require_viewer(request)
    portal = request.app[PORTAL]
    asked = request.query
    try:
        query = search_query(asked)
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from error
    hits = await portal.reader.search(who, query, via="portal")
    return render(
        request,
        "search.html",
        viewer=who,
        csrf=await csrf_token(request),
        asked=asked,
        rows=[_row(hit, portal.directory) for hit in hits],
        more=hits[-1].entry if len(hits) == query.limit else None,
        actions=ACTIONS,
        categories=_CATEGORIES,
    )


@routes.post("/export")
async def export_case(request: web.Request) -> web.Response:
    """The search's results as a case file (investigators only), downloaded as a zip."""
    who = await require_viewer(request)
    form = await checked_form(request)
    portal = request.app[PORTAL]
    try:
        query = replace(search_query(form), limit=MAX_MESSAGES)
        case = await export(portal.reader.store, who, query, via="portal", notary=portal.notary)
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from error
    except ExportRefused as refusal:
        raise web.HTTPForbidden(text=str(refusal)) from refusal
    return web.Response(
        body=case.content,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="chaperone-case.zip"'},
    )


@routes.get("/thread/{thread}")
async def thread(request: web.Request) -> web.Response:
    who = await require_viewer(request)
    portal = request.app[PORTAL]
    found = await portal.reader.thread(who, request.match_info["thread"], via="portal")
    if found is None:
        raise web.HTTPNotFound(text="No such conversation.")
    return render(
        request,
        "thread.html",
        viewer=who,
        csrf=await csrf_token(request),
        messages=found,
        names=partial(_name, portal.directory),
        error=request.query.get("error"),
    )


@routes.get("/review")
async def review_queue(request: web.Request) -> web.Response:
    who = await require_viewer(request)
    if not who.may_review:
        raise web.HTTPForbidden(text="The review queue is for supervisors.")
    portal = request.app[PORTAL]
    return render(
        request,
        "review.html",
        viewer=who,
        csrf=await csrf_token(request),
        waiting=await portal.reader.review_queue(who),
        names=partial(_name, portal.directory),
    )


@routes.post("/review/{message_id}")
async def decide(request: web.Request) -> web.Response:
    who = await require_viewer(request)
    form = await checked_form(request)
    portal = request.app[PORTAL]
    message_id = request.match_info["message_id"]
    hit = await portal.reader.reviewable(who, message_id)
    if hit is None:
        raise web.HTTPNotFound(text="No such message in your review queue.")
    verdict, comment = form.get("verdict", ""), form.get("comment", "").strip()[:2000]
    back = f"/portal/thread/{hit.thread}"
    if not comment:
        raise web.HTTPSeeOther(location=f"{back}?error={quote('A comment is required.')}")
    operator = {"via": "portal", "person_id": who.person.person_id}
    reviewer = who.person.email or who.person.person_id
    try:
        if verdict == "escalate":
            await portal.desk.escalate(message_id, reviewer=reviewer, comment=comment, operator=operator)
        elif verdict in ("approve", "reject"):
            approve = verdict == "approve"
            await portal.desk.decide(
                message_id, approve=approve, reviewer=reviewer, comment=comment, operator=operator
            )
            portal.ring()
        else:
            raise web.HTTPBadRequest(text="The verdict is approve, reject or escalate.")
    except ReviewError as refusal:
        raise web.HTTPSeeOther(location=f"{back}?error={quote(str(refusal)[:300])}") from refusal
    raise web.HTTPSeeOther(location=back)


def _row(hit: Any, directory: Directory) -> dict[str, Any]:
    sender = f"person:{hit.sender_id}"
    people = [k.removeprefix("person:") for k in hit.keys if k.startswith("person:") and k != sender]
    return {
        "hit": hit,
        "sender": _name(directory, hit.sender_id),
        "to": ", ".join(_name(directory, p) for p in people[:4]) + (" …" if len(people) > 4 else ""),
        "when": hit.recorded_at[:16].replace("T", " "),
    }


def _name(directory: Directory, person_id: str) -> str:
    person = directory.person(person_id)
    return person.display_name if person is not None else person_id
