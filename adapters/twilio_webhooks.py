"""Twilio's webhooks, served by aiohttp: POST /twilio/sms (a text arrived) and POST /twilio/status (what
became of a text the relay sent). A thin translation: check the signature, read the form, hand it to the
gateway's services (gateway.texting, gateway.status), answer TwiML.

Every request must carry a valid X-Twilio-Signature over the configured public URL and every posted
parameter (twilio's RequestValidator); anything else gets 403 and a security event in the archive, and is
never taken as a message. The text is committed before the answer (so acknowledged means durable); a
webhook Twilio delivers again carries the same MessageSid and is taken once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from gateway.media_links import MediaLinks
from gateway.status import DeliveryStatus
from gateway.text_media import MAX_MEDIA_ITEMS, MediaLink
from gateway.texting import InboundText, Texting

log = structlog.get_logger("adapters.twilio_webhooks")

_MAX_FORM_BYTES = 64 * 1024  # a text is at most 1,600 characters; Twilio's form fields add a few hundred
# Twilio's message statuses: the final ones settle a copy; the rest are on the way.
_DELIVERED = frozenset({"delivered", "read"})
_FAILED = frozenset({"undelivered", "failed", "canceled"})

SecurityEvent = Callable[[dict[str, Any]], Awaitable[None]]


def twilio_app(
    *,
    texting: Texting,
    status: DeliveryStatus,
    auth_token: str,
    public_url: str,
    security_event: SecurityEvent,
    media_links: MediaLinks,
    load_media: Callable[[str], Awaitable[bytes | None]],
) -> web.Application:
    validator = RequestValidator(auth_token)
    base = public_url.rstrip("/")

    async def signed_form(request: web.Request) -> Any:
        form = await request.post()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(base + request.path_qs, form, signature):
            await security_event(
                {
                    "event": "webhook signature invalid",
                    "path": request.path,
                    "peer": request.remote or "",
                    "signed": bool(signature),
                }
            )
            log.warning("webhook refused: signature invalid", path=request.path)
            raise web.HTTPForbidden(text="X-Twilio-Signature does not match this request\n")
        return form

    async def incoming(request: web.Request) -> web.Response:
        form = await signed_form(request)
        missing = [name for name in ("MessageSid", "From", "To") if not form.get(name)]
        if missing:
            raise web.HTTPBadRequest(text=f"missing {', '.join(missing)}\n")
        answer = await texting.receive(
            InboundText(
                provider_id=str(form["MessageSid"]),
                sender=str(form["From"]),
                relay_number=str(form["To"]),
                body=str(form.get("Body", "")),
                received_at=datetime.now(UTC),
                media=_media(form),
            )
        )
        twiml = MessagingResponse()
        if answer.reply:
            twiml.message(answer.reply)
        return web.Response(text=str(twiml), content_type="text/xml")

    async def status_callback(request: web.Request) -> web.Response:
        form = await signed_form(request)
        sid, state = str(form.get("MessageSid", "")), str(form.get("MessageStatus", "")).lower()
        if not sid or not state:
            raise web.HTTPBadRequest(text="missing MessageSid or MessageStatus\n")
        code = str(form.get("ErrorCode", ""))
        await status.report(
            sid,
            state,
            final=state in _DELIVERED | _FAILED,
            delivered=state in _DELIVERED,
            detail=f"ErrorCode {code}" if code else "",
        )
        return web.Response(text=str(MessagingResponse()), content_type="text/xml")

    async def media(request: web.Request) -> web.Response:
        """An MMS's file, for the provider sending a copy of it: only with a link the relay signed."""
        digest, kind = request.match_info["digest"], request.query.get("type", "")
        if not media_links.valid(digest, kind, request.query.get("sig", "")):
            raise web.HTTPForbidden(text="this link was not made by the relay\n")
        content = await load_media(digest)
        if content is None:
            raise web.HTTPNotFound(text="no such file (disposed of?)\n")
        return web.Response(body=content, content_type=kind)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=_MAX_FORM_BYTES)
    app.router.add_post("/twilio/sms", incoming)
    app.router.add_post("/twilio/status", status_callback)
    app.router.add_get("/media/{digest}", media)
    app.router.add_get("/healthz", healthz)
    return app


def _media(form: Any) -> tuple[MediaLink, ...]:
    """Twilio's NumMedia, MediaUrl0…, MediaContentType0…; as many as it says, within MAX_MEDIA_ITEMS
    and one more (so that too many is refused, not cut)."""
    try:
        count = min(int(str(form.get("NumMedia", "0")) or 0), MAX_MEDIA_ITEMS + 1)
    except ValueError:
        raise web.HTTPBadRequest(text="NumMedia is not a number\n") from None
    links = []
    for n in range(max(count, 0)):
        url = str(form.get(f"MediaUrl{n}", ""))
        if not url:
            raise web.HTTPBadRequest(text=f"MediaUrl{n} is missing\n")
        links.append(MediaLink(url, str(form.get(f"MediaContentType{n}", ""))))
    return tuple(links)
