"""The JSON API a portal or a district's own tools use: ``POST /api/v1/messages`` starts a text from a staff
member, exactly as texting the first relay number "@to words" from their work phone would (the SMS service,
gateway.texting). Staff sign in with HTTP Basic: their district e-mail and the app password their mail
client uses. A request with an ``Idempotency-Key`` is taken once, however often it is retried."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.api_models import problems_of
from gateway.directory import Directory
from gateway.models import new_id
from gateway.texting import MAX_TEXT_CHARS, Outcome, Texting
from policies.parties import Person, Role

VerifyPassword = Callable[[str, str], Awaitable[bool]]
SecurityEvent = Callable[[dict[str, Any]], Awaitable[None]]


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str = Field(min_length=1, max_length=100)  # a roster username or sourcedId, or a class they teach
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


def api_routes(
    *, texting: Texting, directory: Directory, verify_password: VerifyPassword, security_event: SecurityEvent
) -> list[web.RouteDef]:
    async def signed_in(request: web.Request) -> Person:
        email, password = basic_credentials(request.headers.get("Authorization", ""))
        person = directory.by_email(email) if email else None
        if person is None or person.role is not Role.STAFF or not await verify_password(email, password):
            await security_event(
                {"event": "api sign-in failed", "user": email[:200], "peer": request.remote or ""}
            )
            raise web.HTTPUnauthorized(
                text="sign in with your district e-mail and app password\n",
                headers={"WWW-Authenticate": 'Basic realm="chaperone", charset="UTF-8"'},
            )
        return person

    async def send(request: web.Request) -> web.Response:
        staff = await signed_in(request)
        try:
            asked = MessageRequest.model_validate_json(await request.read())
        except ValidationError as error:
            return web.json_response({"error": problems_of(error)}, status=400)
        key = request.headers.get("Idempotency-Key", "")[:200]
        request_id = f"api:{staff.person_id}:{key}" if key else new_id("api-")
        answer = await texting.send_for(staff, asked.to, asked.text, request_id)
        if answer.outcome is Outcome.DUPLICATE:
            return web.json_response({"duplicate": True}, status=200)
        if answer.outcome is not Outcome.FORWARDED:
            return web.json_response({"error": answer.reply or "not sent"}, status=422)
        messages = [
            {
                "message_id": r.message_id,
                "action": r.action,
                "reason": r.reason,
                "release_at": r.release_at.isoformat() if r.release_at else None,
            }
            for r in answer.receipts
        ]
        return web.json_response({"messages": messages}, status=201)

    return [web.post("/api/v1/messages", send)]


def basic_credentials(header: str) -> tuple[str, str]:
    """HTTP Basic's e-mail (lower-cased) and password; empty strings for anything else."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        email, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return email.strip().lower(), password
