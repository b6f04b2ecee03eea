"""What every portal handler works with: the gateway's services, and rendering a page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jinja2 import Environment

from adapters.smtp_auth import SignInThrottle
from gateway.archive_reader import ArchiveReader
from gateway.config import Settings
from gateway.directory import Directory
from gateway.evidence import Notary
from gateway.invitations import Invitations
from gateway.review import ReviewDesk
from policies.parties import Person, Role

VerifyPassword = Callable[[str, str], Awaitable[bool]]
RecordEvent = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Portal:
    settings: Settings
    directory: Directory
    reader: ArchiveReader
    desk: ReviewDesk
    staff_passwords: VerifyPassword
    guardian_passwords: VerifyPassword
    sign_ins: SignInThrottle
    signed_in: RecordEvent  # archives a sign-in
    ring: Callable[[], None]  # wakes the delivery workers when an approval releases copies
    session_key: str  # seals the session cookies (Fernet)
    notary: Notary | None  # signs a checkpoint before a case file is made, so that it proves everything
    invitations: Invitations
    set_guardian_password: Callable[[str, str], Awaitable[None]]

    async def password_ok(self, person: Person, email: str, password: str) -> bool:
        """Staff sign in with their app password, guardians with their portal password; anyone else is
        refused after a check as slow as a real one, so that the answer tells nothing of who exists."""
        if person.role is Role.STAFF:
            return await self.staff_passwords(email, password)
        if person.role is Role.GUARDIAN:
            return await self.guardian_passwords(email, password)
        await self.staff_passwords("", password)
        return False


PORTAL = web.AppKey("portal", Portal)
TEMPLATES = web.AppKey("templates", Environment)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    portal = request.app[PORTAL]
    page = request.app[TEMPLATES].get_template(template)
    context.setdefault("district", portal.settings.district.name)
    return web.Response(text=page.render(**context), status=status, content_type="text/html")
