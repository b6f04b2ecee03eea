"""An MMS's media, as the SMS service takes it: at most ``MAX_MEDIA_ITEMS`` files and ``MAX_MEDIA_BYTES``
in all (Twilio's own cap for a message's media is 5 MB), of the types a school's texts carry, fetched from
the provider (``MediaSource``: adapters/twilio_media.py) before anything is decided."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Protocol

from gateway.models import Media

MAX_MEDIA_ITEMS = 10
MAX_MEDIA_BYTES = 5 * 1024 * 1024
_MEDIA_TYPES = ("image/", "video/", "audio/", "application/pdf", "text/vcard", "text/x-vcard", "text/plain")


@dataclass(frozen=True, slots=True)
class MediaLink:
    url: str
    content_type: str  # as the provider declared it


class MediaError(Exception):
    """An MMS's media could not be taken: not fetched, too large, or of a type the relay does not carry."""


class MediaSource(Protocol):
    async def fetch(self, url: str, limit: int) -> bytes:
        """The bytes at ``url``, at most ``limit`` of them; raises ``MediaError``."""
        ...


async def fetch_media(source: MediaSource | None, links: tuple[MediaLink, ...]) -> tuple[Media, ...]:
    """An MMS's media, fetched before anything is decided: the rules judge pictures as they judge an
    e-mail's attachments, and the archive keeps them content-addressed."""
    if not links:
        return ()
    if source is None:
        raise MediaError("cannot be taken: this relay fetches no media")
    if len(links) > MAX_MEDIA_ITEMS:
        raise MediaError(f"is one of more than {MAX_MEDIA_ITEMS}")
    fetched: list[Media] = []
    left = MAX_MEDIA_BYTES
    for n, link in enumerate(links, 1):
        kind = link.content_type.lower().partition(";")[0].strip()
        if not kind.startswith(_MEDIA_TYPES):
            raise MediaError(f"of type {kind or 'unknown'} cannot go through the relay")
        content = await source.fetch(link.url, left)
        left -= len(content)
        fetched.append(Media(f"media-{n}{mimetypes.guess_extension(kind) or ''}", kind, content))
    return tuple(fetched)
