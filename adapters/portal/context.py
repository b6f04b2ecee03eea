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
from gateway.review import ReviewDesk

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


PORTAL = web.AppKey("portal", Portal)
TEMPLATES = web.AppKey("templates", Environment)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    portal = request.app[PORTAL]
    page = request.app[TEMPLATES].get_template(template)
    context.setdefault("district", portal.settings.district.name)
    return web.Response(text=page.render(**context), status=status, content_type="text/html")
