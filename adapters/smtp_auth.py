"""AUTH PLAIN and LOGIN as async handler hooks.

aiosmtpd's ``authenticator`` callback is synchronous, and an argon2 check takes tens of milliseconds: run
inline it would stall every other session. These hooks read the credentials with aiosmtpd's own challenge
helper and verify them in a thread.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Awaitable, Callable
from math import ceil
from typing import Any

from aiosmtpd.smtp import MISSING, AuthResult

from adapters.smtp_guard import FailureWindow, client_ip
from adapters.smtp_replies import BAD_CREDENTIALS

Verify = Callable[[str, str], Awaitable[bool]]


class StaffAuth:
    """Mixin for a handler: ``self.verify_password(email, password)`` decides; the session then carries
    the staff member's lower-cased e-mail as ``auth_data``."""

    verify_password: Verify
    sign_ins: SignInThrottle

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        blob = await _initial_or_challenge(server, args, "")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push("501 5.5.2 Cannot split AUTH PLAIN value")
            return AuthResult(success=False, handled=True)
        return await self._check(server, parts[1], parts[2])

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        login = await _initial_or_challenge(server, args, server.AuthLoginUsernameChallenge)
        if login is None:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self._check(server, login, password)

    async def _check(self, server: Any, login: bytes, password: bytes) -> AuthResult:
        email = login.decode("utf-8", "replace").strip().lower()
        client = client_ip(server.session)
        wait = self.sign_ins.wait(email, client)
        if wait > 0:  # no password hash is computed for a throttled address or client
            return AuthResult(
                success=False, handled=False, message=SIGN_INS_THROTTLED.format(minutes=ceil(wait / 60))
            )
        if await self.verify_password(email, password.decode("utf-8", "replace")):
            self.sign_ins.succeeded(email)
            return AuthResult(success=True, auth_data=email)
        await self.sign_ins.failed(email, client)
        return AuthResult(success=False, handled=False, message=BAD_CREDENTIALS)


SIGN_INS_THROTTLED = "454 4.7.0 Too many failed sign-ins; try again in {minutes} minutes"
RecordEvent = Callable[[dict[str, Any]], Awaitable[None]]


class SignInThrottle:
    """Failed sign-ins counted per address and per client IP over a window. At the limit, AUTH answers
    454 at once (no argon2 hash, so guessing cannot slow real senders down) and the first time a key
    reaches it, a security event is archived."""

    def __init__(self, *, per_address: int, per_client: int, seconds: float, record: RecordEvent) -> None:
        self.addresses = FailureWindow(limit=per_address, seconds=seconds)
        self.clients = FailureWindow(limit=per_client, seconds=seconds)
        self.record = record

    def wait(self, email: str, client: str) -> float:
        return max(self.addresses.throttled(email), self.clients.throttled(client))

    def succeeded(self, email: str) -> None:
        self.addresses.forgive(email)

    async def failed(self, email: str, client: str) -> None:
        for kind, window, key in (("address", self.addresses, email), ("client", self.clients, client)):
            if window.fail(key) == window.limit:
                await self.record(
                    {
                        "event": "sign-ins throttled",
                        "by": kind,
                        "address": email,
                        "client": client,
                        "failures": window.limit,
                        "window_seconds": window.seconds,
                    }
                )


async def _initial_or_challenge(server: Any, args: list[str], challenge: str) -> bytes | None:
    if len(args) == 1:
        blob = await server.challenge_auth(challenge)
        return None if blob is MISSING else bytes(blob)
    try:
        return b64decode(args[1].encode(), validate=True)
    except (binascii.Error, ValueError):
        await server.push("501 5.5.2 Cannot decode base64")
        return None
