"""Guardian invitations to the portal: a one-time link, by e-mail to the address the roster gives, with
which a guardian sets their own password (gateway.credentials.GuardianCredentials).

Only each link's SHA-256 is kept (data_dir/guardian-invitations.json, mode 0600, changed under a lock and
replaced atomically), so the file does not let anyone in. A link works once, for ``[web]
invitation_hours``; a new invitation to the same address replaces the old one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from archive.changes import Changes
from gateway import notices
from gateway.config import Settings
from gateway.kept_secret import replace_private
from gateway.models import Purpose, new_id
from policies.parties import Person

MIN_PASSWORD = 12


class Invitations:
    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = data_dir / "guardian-invitations.json"
        self.clock = clock

    def issue(self, email: str, hours: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._changing() as pending:
            for key in [k for k, v in pending.items() if v["email"] == email]:
                del pending[key]
            pending[_digest(token)] = {"email": email, "expires": self.clock() + hours * 3600}
        return token

    def invited(self, token: str) -> str | None:
        """The address a live link was sent to."""
        found = self._load().get(_digest(token))
        return found["email"] if found and found["expires"] > self.clock() else None

    def redeem(self, token: str) -> str | None:
        """The address a live link was sent to, and the link used up."""
        with self._changing() as pending:
            found = pending.pop(_digest(token), None)
        return found["email"] if found and found["expires"] > self.clock() else None

    def _load(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    @contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            pending = {k: v for k, v in self._load().items() if v["expires"] > self.clock()}
            yield pending
            replace_private(self.path, json.dumps(pending))


def invite(changes: Changes, settings: Settings, invitations: Invitations, guardian: Person) -> None:
    """Queue the invitation e-mail inside the caller's commit (the relay's own delivery sends it)."""
    assert guardian.email is not None
    token = invitations.issue(guardian.email, settings.web.invitation_hours)
    link = f"{settings.web.public_url.rstrip('/')}/portal/welcome/{token}"
    notices.queue_relay_mail(
        changes,
        settings,
        about=new_id("invite-"),
        to=(guardian.email,),
        subject=f"Your access to your children's messages at {settings.district.name}",
        text=(
            f"Dear {guardian.display_name},\n\n{settings.district.name} keeps a copy of every message "
            "between its staff and your children, and you may read them. Choose your password here (the "
            f"link works once, for {settings.web.invitation_hours:g} hours):\n\n{link}\n\n"
            "If you did not expect this, you can ignore it.\n"
        ),
        purpose=Purpose.NOTICE,
        now=time.time(),
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
