"""`chaperone sms simulate`: post a text to the running relay's webhook exactly as Twilio would, signed
with the relay's webhook secret, and print the TwiML it answers. Development and demos: with the outbox
provider, what the relay sends back lands in [sms] provider's file."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

import aiohttp
from twilio.request_validator import RequestValidator

from gateway.config import Settings, load_settings
from gateway.webhook_token import webhook_token


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sms = groups.add_parser("sms", help="the SMS channel")
    actions = sms.add_subparsers(dest="action", required=True)
    simulate = actions.add_parser("simulate", help="send the running relay a text, signed as Twilio signs it")
    simulate.add_argument("--from", dest="sender", required=True, help="the phone it comes from (E.164)")
    simulate.add_argument("--to", default=None, help="the relay number (default: the first of [sms])")
    simulate.add_argument("text", help='the words, e.g. "@spatel Practice moved to 4pm"')
    simulate.set_defaults(run=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if not settings.sms.enabled or not settings.web.listen:
        print("the relay has no SMS: set [sms] relay_numbers and [web] listen", file=sys.stderr)
        return 2
    status, answer = asyncio.run(
        simulate(settings, args.sender, args.to or settings.sms.main_number, args.text)
    )
    print(answer)
    return 0 if status == 200 else 1


async def simulate(settings: Settings, sender: str, to: str, text: str) -> tuple[int, str]:
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.sms.account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
    }
    path = "/twilio/sms"
    signature = RequestValidator(webhook_token(settings)).compute_signature(
        settings.sms.public_url.rstrip("/") + path, form
    )
    assert settings.web.listen is not None
    host, _, port = settings.web.listen.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "", "[::]") else host  # noqa: S104 - where to connect, not bind
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://{host}:{port}{path}", data=form, headers={"X-Twilio-Signature": signature}
        ) as response:
            return response.status, await response.text()
