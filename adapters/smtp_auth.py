"""AUTH PLAIN and LOGIN as async handler hooks.

aiosmtpd's ``authenticator`` callback is synchronous, and an argon2 check takes tens of milliseconds: run
inline it would stall every other session. These hooks read the credentials with aiosmtpd's own challenge
helper and verify them in a thread.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import MISSING, AuthResult

from adapters.smtp_replies import BAD_CREDENTIALS

Verify = Callable[[str, str], Awaitable[bool]]


class StaffAuth:
    """Mixin for a handler: ``self.verify_password(email, password)`` decides; the session then carries
    the staff member's lower-cased e-mail as ``auth_data``."""

    verify_password: Verify

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        blob = await _initial_or_challenge(server, args, "")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push("501 5.5.2 Cannot split AUTH PLAIN value")
            return AuthResult(success=False, handled=True)
        return await self._check(parts[1], parts[2])

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        login = await _initial_or_challenge(server, args, server.AuthLoginUsernameChallenge)
        if login is None:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self._check(login, password)

    async def _check(self, login: bytes, password: bytes) -> AuthResult:
        email = login.decode("utf-8", "replace").strip().lower()
        if await self.verify_password(email, password.decode("utf-8", "replace")):
            return AuthResult(success=True, auth_data=email)
        return AuthResult(success=False, handled=False, message=BAD_CREDENTIALS)


async def _initial_or_challenge(server: Any, args: list[str], challenge: str) -> bytes | None:
    if len(args) == 1:
        blob = await server.challenge_auth(challenge)
        return None if blob is MISSING else bytes(blob)
    try:
        return b64decode(args[1].encode(), validate=True)
    except (binascii.Error, ValueError):
        await server.push("501 5.5.2 Cannot decode base64")
        return None
