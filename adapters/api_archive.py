"""The archive's JSON API (/api/v1): the portal's windows for a district's own tools. Every request signs
in with HTTP Basic (a staff member's district e-mail and app password, or a guardian's e-mail and portal
password), throttled with the portal's and SMTP's failed sign-ins; what each person sees is the portal's.
The OpenAPI document is at /api/v1/openapi.json."""

from __future__ import annotations

import math

from aiohttp import web
from pydantic import ValidationError

from adapters.api_models import (
    Decided,
    Error,
    MessageFound,
    Review,
    Reviews,
    SearchResults,
    Thread,
    ThreadEntry,
    Verdict,
    openapi_document,
)
from adapters.api_v1 import basic_credentials
from adapters.portal.context import Portal
from gateway.archive_access import NoWindow, Viewer, viewer
from gateway.archive_reader import search_query
from gateway.review import ReviewError


def archive_api_routes(portal: Portal) -> list[web.RouteDef]:
    document = openapi_document()

    async def signed_in(request: web.Request) -> Viewer:
        email, password = basic_credentials(request.headers.get("Authorization", ""))
        client = request.remote or ""
        wait = portal.sign_ins.wait(email, client)
        if wait > 0:
            raise _refused(429, f"too many failed sign-ins: try again in {math.ceil(wait / 60)} minutes")
        person = portal.directory.by_email(email) if email else None
        if person is None or not await portal.password_ok(person, email, password):
            await portal.sign_ins.failed(email, client)
            raise _refused(401, "sign in with your district e-mail and password", basic=True)
        portal.sign_ins.succeeded(email)
        try:
            return viewer(person, portal.settings, portal.directory)
        except NoWindow as refusal:
            raise _refused(403, str(refusal)) from refusal

    async def search(request: web.Request) -> web.Response:
        who = await signed_in(request)
        try:
            query = search_query(request.query)
        except ValueError as error:
            raise _refused(400, str(error)) from error
        hits = await portal.reader.search(who, query, via="api")
        found = [
            MessageFound(
                message_id=h.message_id,
                recorded_at=h.recorded_at,
                channel=h.channel,
                direction=h.direction,
                action=h.action,
                categories=list(h.categories),
                sender=h.sender_id,
                subject=h.subject,
                thread=h.thread,
            )
            for h in hits
        ]
        more = str(hits[-1].entry) if len(hits) == query.limit else None
        return _json(SearchResults(messages=found, next=more))

    async def thread(request: web.Request) -> web.Response:
        who = await signed_in(request)
        asked = request.match_info["thread"]
        found = await portal.reader.thread(who, asked, via="api")
        if found is None:
            raise _refused(404, "no such conversation")
        return _json(Thread(thread=asked, messages=[ThreadEntry.of(m) for m in found]))

    async def reviews(request: web.Request) -> web.Response:
        who = await signed_in(request)
        if not who.may_review:
            raise _refused(403, "the review queue is for supervisors")
        waiting = [
            Review(
                message_id=w.hit.message_id,
                thread=w.hit.thread,
                action=w.entry.action,
                severity=w.severity,
                alerted=w.alerted,
                sender=w.hit.sender_id,
                subject=w.entry.subject,
                reasons=w.entry.reasons,
                opened_at=w.entry.opened_at,
            )
            for w in await portal.reader.review_queue(who)
        ]
        return _json(Reviews(reviews=waiting))

    async def decide(request: web.Request) -> web.Response:
        who = await signed_in(request)
        message_id = request.match_info["message_id"]
        if await portal.reader.reviewable(who, message_id) is None:
            raise _refused(404, "no such message in your review queue")
        try:
            asked = Verdict.model_validate_json(await request.read())
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()
            )
            raise _refused(400, problems) from error
        operator = {"via": "api", "person_id": who.person.person_id}
        reviewer = who.person.email or who.person.person_id
        try:
            if asked.verdict == "escalate":
                entry = await portal.desk.escalate(
                    message_id, reviewer=reviewer, comment=asked.comment, operator=operator
                )
            else:
                entry = await portal.desk.decide(
                    message_id, approve=asked.verdict == "approve", reviewer=reviewer, comment=asked.comment,
                    operator=operator,
                )  # fmt: skip
                portal.ring()
        except ReviewError as refusal:
            raise _refused(409, str(refusal)) from refusal
        return _json(Decided(message_id=message_id, state=entry.state))

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    return [
        web.get("/api/v1/search", search),
        web.get("/api/v1/threads/{thread}", thread),
        web.get("/api/v1/reviews", reviews),
        web.post("/api/v1/reviews/{message_id}", decide),
        web.get("/api/v1/openapi.json", openapi),
    ]


def _json(body: Reviews | SearchResults | Thread | Decided) -> web.Response:
    return web.Response(text=body.model_dump_json(), content_type="application/json")


def _refused(status: int, why: str, *, basic: bool = False) -> web.HTTPException:
    headers = {"WWW-Authenticate": 'Basic realm="chaperone", charset="UTF-8"'} if basic else {}
    return _STATUS[status](
        text=Error(error=why).model_dump_json(), content_type="application/json", headers=headers
    )


_STATUS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
    409: web.HTTPConflict, 429: web.HTTPTooManyRequests,
}  # fmt: skip
