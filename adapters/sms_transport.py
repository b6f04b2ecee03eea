"""Texts out: Twilio's Messages API through twilio-python's async client, or, in development, an outbox
file. Both implement gateway.outbound.Transport, so delivery treats a text as it treats an e-mail.

Twilio, done carefully:
- One AsyncTwilioHttpClient, made inside the running loop and closed with the relay. Its own retries are
  off (``max_retries`` unset): a retried POST after a 5xx can create the text twice. Retries are the
  queue's, with its backoff, and an attempt after one whose answer never came (a timeout, a 5xx) first
  asks Twilio whether that text exists, so a text Twilio accepted is not sent again.
- A relay number sends about one segment a second: sends wait for their number's turn (``Pacer``, booked in
  the store, so every relay process and instance takes turns) rather than burst into Twilio's own queue.
- Twilio's answer is mapped to the SMTP-shaped outcome delivery records: 21610 (the recipient said STOP),
  21211 (not a valid number), 21614 (not a mobile) are permanent; 429 and 5xx are temporary.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiohttp import ClientConnectionError
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.channels.sms import segments
from gateway.config import Settings
from gateway.media_links import MediaLinks
from gateway.models import new_id
from gateway.outbound import OutboundText, RecipientOutcome, Transport
from gateway.webhook_token import webhook_token

_PERMANENT = {21211: "not a valid phone number", 21610: "the recipient said STOP to this number",
              21614: "not a mobile number", 21612: "cannot be reached from this number"}  # fmt: skip
_UNSURE_FOR = 3600.0  # seconds an unanswered send is remembered and looked for before sending again


# Books a relay number for some seconds of sending from its next free moment, for every relay process
# alike (the store's ``reserve_send``); returns when that moment is (epoch seconds).
Reserve = Callable[[str, float, float], Awaitable[float]]


class Pacer:
    """Spaces each relay number's sends at ``per_second`` segments a second, across relay processes."""

    def __init__(self, per_second: float, reserve: Reserve) -> None:
        self.per_second = per_second
        self.reserve = reserve

    async def wait(self, number: str, count: int) -> None:
        start = await self.reserve(number, count / self.per_second, time.time())
        delay = start - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class TwilioTransport:
    def __init__(self, settings: Settings, media_links: MediaLinks, reserve: Reserve) -> None:
        sms = settings.sms
        self.media_links = media_links
        token = sms.secret_auth_token()
        if not sms.account_sid or not token:
            raise ValueError("[sms] provider = twilio needs account_sid and auth_token")
        self._http = AsyncTwilioHttpClient(timeout=sms.api_timeout)
        self.client = Client(sms.account_sid, token, http_client=self._http)
        self.client.api.base_url = sms.api_base_url.rstrip("/")
        self.status_callback = sms.public_url.rstrip("/") + "/twilio/status"
        self.pacer = Pacer(sms.segments_per_second, reserve)
        self._unsure: dict[str, float] = {}  # sends whose answer never came: key -> when

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        outbound = OutboundText.of(message)
        text = outbound.body
        _, count = segments(text)
        media = [self.media_links.url(digest, kind) for digest, kind in outbound.media]
        outcomes = []
        for to in recipients:
            key = hashlib.sha256(f"{envelope_from}\0{to}\0{text}".encode()).hexdigest()
            found = await self._sent_before(key, envelope_from, to, text)
            if found is not None:
                outcomes.append(
                    RecipientOutcome(to, 250, f"accepted by Twilio as {found}", provider_id=found)
                )
                continue
            await self.pacer.wait(envelope_from, count)
            outcomes.append(await self._create(key, envelope_from, to, text, media))
        return outcomes

    async def _create(self, key: str, sender: str, to: str, text: str, media: list[str]) -> RecipientOutcome:
        try:
            created = await self.client.messages.create_async(
                to=to, from_=sender, body=text, status_callback=self.status_callback,
                media_url=media if media else values.unset,
            )  # fmt: skip
        except TwilioRestException as error:
            code = error.code or 0
            if error.status >= 500:
                self._unsure[key] = time.time()
                return RecipientOutcome(to, 451, f"4.4.0 Twilio answered {error.status}; will look and retry")
            if error.status == 429:
                return RecipientOutcome(to, 450, "4.7.0 Twilio is rate limiting this account")
            why = _PERMANENT.get(code, error.msg or "refused")
            return RecipientOutcome(to, 550, f"5.1.1 Twilio error {code}: {why}"[:300])
        except ClientConnectionError as error:  # never reached Twilio (refused, reset before a reply)
            return RecipientOutcome(to, 451, f"4.4.1 cannot reach Twilio: {error!r}"[:300])
        except TimeoutError:
            self._unsure[key] = time.time()
            return RecipientOutcome(to, 451, "4.4.2 no answer from Twilio in time; will look and retry")
        self._unsure.pop(key, None)
        return RecipientOutcome(to, 250, f"accepted by Twilio as {created.sid}", provider_id=created.sid)

    async def _sent_before(self, key: str, sender: str, to: str, text: str) -> str | None:
        """After an attempt whose answer never came: the sid of that text if Twilio has it after all."""
        since = self._unsure.get(key)
        if since is None:
            return None
        if time.time() - since > _UNSURE_FOR:
            del self._unsure[key]
            return None
        after = datetime.fromtimestamp(since, UTC) - timedelta(minutes=2)
        found = await self.client.messages.list_async(to=to, from_=sender, date_sent_after=after, limit=50)
        match = next((m.sid for m in found if m.body == text), None)
        if match is not None:
            del self._unsure[key]
        return match

    async def close(self) -> None:
        await self._http.close()


class OutboxTransport:
    """Development: each text a JSON line in a file, as Twilio would have sent it; delivered at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        outbound = OutboundText.of(message)
        encoding, count = segments(outbound.body)
        lines = [
            orjson.dumps(
                {"sid": new_id("SM"), "from": envelope_from, "to": to, "body": outbound.body,
                 "media": [digest for digest, _ in outbound.media], "encoding": encoding, "segments": count,
                 "at": datetime.now(UTC).isoformat()}
            ) + b"\n"
            for to in recipients
        ]  # fmt: skip
        async with self._lock:
            await asyncio.to_thread(self._append, b"".join(lines))
        return [RecipientOutcome(to, 250, f"written to {self.path}") for to in recipients]

    def _append(self, lines: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as outbox:
            outbox.write(lines)

    async def close(self) -> None:
        return None


def sms_transport_from_settings(settings: Settings, reserve: Reserve) -> Transport | None:
    """The relay's SMS provider; None when it has no relay numbers (no SMS channel)."""
    sms = settings.sms
    if not sms.enabled:
        return None
    if sms.provider == "twilio":
        return TwilioTransport(settings, MediaLinks(webhook_token(settings), sms.public_url), reserve)
    return OutboxTransport(Path(sms.provider.removeprefix("outbox:")))
