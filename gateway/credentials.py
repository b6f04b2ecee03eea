"""Staff app passwords and guardians' portal passwords: argon2 hashes in a file under data_dir each,
replaced atomically.

A staff member's mail client authenticates with an app password set by `chaperone staff set-password`.
Checking a hash costs tens of milliseconds of CPU, so the relay verifies in a thread; an unknown address is
checked against a dummy hash so the answer takes as long as for a known one.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.kept_secret import replace_private

_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("chaperone: no such staff member")


class StaffCredentials:
    FILE = "staff-passwords.json"

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / self.FILE

    def set_password(self, email: str, password: str) -> None:
        hashes = self._load()
        hashes[email.strip().lower()] = _HASHER.hash(password)
        replace_private(self.path, json.dumps(hashes, indent=1, sort_keys=True))

    def verify(self, email: str, password: str) -> bool:
        stored = self._load().get(email.strip().lower())
        try:
            return _HASHER.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    async def verify_async(self, email: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify, email, password)

    async def set_password_async(self, email: str, password: str) -> None:
        await asyncio.to_thread(self.set_password, email, password)

    def _load(self) -> dict[str, str]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()}


class GuardianCredentials(StaffCredentials):
    """Guardians' portal passwords, set through their invitation: kept apart from staff's, so that no
    guardian's password is ever an SMTP or API sign-in."""

    FILE = "guardian-passwords.json"
