"""Helpers for SMS tests: a relay with its relay-number pool, texts posted to its webhook signed as Twilio
signs them, and the outbox the development provider writes."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

from gateway.config import Settings
from gateway.directory import Directory
from gateway.service import Relay, running_relay
from tests.conftest import relay_settings

POOL = ["+12025550105", "+12025550106", "+12025550107", "+12025550108", "+12025550109"]
MAIN = POOL[0]
TOKEN = "test-auth-token-0123456789"
PUBLIC_URL = "https://relay.nusd.example.org"
REYES, PATEL, PATEL_MOM, OKAFOR, KIM = (
    "+12025550111",
    "+12025550121",
    "+12025550131",
    "+12025550112",
    "+12025550132",
)
STRANGER = "+13125550177"


def sms_settings(tmp_path: Path, downstream_port: int, **sections: dict[str, Any]) -> Settings:
    sms = {
        "relay_numbers": POOL,
        "provider": f"outbox:{tmp_path / 'outbox.jsonl'}",
        "auth_token": TOKEN,
        "public_url": PUBLIC_URL,
        **sections.pop("sms", {}),
    }
    return relay_settings(tmp_path, downstream_port, sms=sms, web={"listen": "127.0.0.1:0"}, **sections)


@asynccontextmanager
async def sms_relay(settings: Settings, directory: Directory) -> AsyncIterator[Relay]:
    async with running_relay(settings, directory) as relay:
        yield relay


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


async def post_webhook(
    relay: Relay, path: str, form: dict[str, str], *, signature: str | None = None
) -> tuple[int, str]:
    signed = sign(PUBLIC_URL + path, form) if signature is None else signature
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{relay.port('web')}{path}", data=form, headers={"X-Twilio-Signature": signed}
        ) as response:
            return response.status, await response.text()


async def text(relay: Relay, sender: str, to: str, body: str, sid: str | None = None) -> tuple[int, str]:
    """A text as Twilio posts it to /twilio/sms."""
    form = {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    return await post_webhook(relay, "/twilio/sms", form)


def outbox(settings: Settings) -> list[dict[str, Any]]:
    path = Path(settings.sms.provider.removeprefix("outbox:"))
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def texts_sent(settings: Settings, count: int, within: float = 10.0) -> list[dict[str, Any]]:
    """The outbox once it holds ``count`` texts (no more arrive for a moment after)."""
    async with asyncio.timeout(within):
        while len(outbox(settings)) < count:  # noqa: ASYNC110 - written by the relay's delivery workers
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    return outbox(settings)
