"""A small Twilio of our own on loopback, for behaviour a spec-driven mock cannot script: the Messages
resource's create and list, with errors queued by the test (21610, 21211, 429, 5xx), and the status
callbacks Twilio would post back, signed as Twilio signs them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ACCOUNT = "AC" + "1" * 32


@dataclass
class FakeTwilio:
    port: int = 0
    created: list[dict[str, str]] = field(default_factory=list)  # every message it accepted
    requests: list[dict[str, str]] = field(default_factory=list)  # every create asked, accepted or not
    errors: list[tuple[int, int]] = field(default_factory=list)  # (HTTP status, Twilio code), one per create
    accept_then_fail: int = 0  # creates that are kept but answered 500 (the answer lost on the way)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        if self.errors:
            status, code = self.errors.pop(0)
            return web.json_response(
                {"code": code, "message": f"error {code}", "status": status}, status=status
            )
        message = _message(form)
        self.created.append(message)
        if self.accept_then_fail:
            self.accept_then_fail -= 1
            return web.json_response({"code": 20500, "message": "internal", "status": 500}, status=500)
        return web.json_response(message, status=201)

    async def list(self, request: web.Request) -> web.Response:
        to, sender = request.query.get("To"), request.query.get("From")
        found = [m for m in self.created if (not to or m["to"] == to) and (not sender or m["from"] == sender)]
        return web.json_response(
            {"messages": found, "next_page_uri": None, "page": 0, "page_size": 50, "uri": request.path}
        )


def _message(form: dict[str, str]) -> dict[str, Any]:
    return {
        "sid": "SM" + secrets.token_hex(16),
        "account_sid": ACCOUNT,
        "to": form["To"],
        "from": form["From"],
        "body": form.get("Body", ""),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "status_callback": form.get("StatusCallback"),
    }


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    app = web.Application()
    path = "/2010-04-01/Accounts/{account}/Messages.json"
    app.router.add_post(path, fake.create)
    app.router.add_get(path, fake.list)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.port = int(runner.addresses[0][1])
    try:
        yield fake
    finally:
        await runner.cleanup()
