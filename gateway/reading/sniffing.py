"""What an attachment is, by its bytes rather than by what the sender called it.

A photo of students sent as ``application/octet-stream``, named ``notes.dat`` or ``chart.jpg``, zipped,
or inlined in HTML as a ``data:`` URI is still a photo of students: the media-consent rule must see it as
one. Types are read from the magic bytes (the ``filetype`` library), archives are opened and their members
sniffed the same way (within bounds: a zip bomb costs a few kilobytes per member), and a camera photo is
told from a chart by the EXIF block cameras and phones write (a chart exported from a spreadsheet has none).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

import filetype

from policies.message import Attachment

_SNIFF_BYTES = 8_192  # enough for every signature filetype knows
_CAMERA_WINDOW = 65_536  # an EXIF block sits in the first segment of a JPEG, HEIC or TIFF
_EXIF = b"Exif\x00\x00"
_MAX_MEMBERS = 200  # archive members looked at
_MAX_DATA_URIS = 50
_DATA_URI = re.compile(r"data:((?:image|video)/[\w.+-]+);base64,([A-Za-z0-9+/=\s]{0,2048})", re.IGNORECASE)


def sniffed_type(data: bytes) -> str | None:
    """The media type the bytes themselves declare, if filetype knows their signature."""
    kind = filetype.guess(data[:_SNIFF_BYTES])
    return None if kind is None else str(kind.mime)


def from_camera(data: bytes) -> bool:
    """Whether the picture carries the EXIF block a camera or phone writes."""
    return _EXIF in data[:_CAMERA_WINDOW]


def attachment_of(filename: str, declared: str, data: bytes | None) -> list[Attachment]:
    """The attachment as its bytes show it, and, for an archive, the pictures and videos inside it."""
    if data is None:
        return [Attachment(filename, declared, None)]
    sniffed = sniffed_type(data)
    shown = sniffed if sniffed is not None and sniffed.startswith(("image/", "video/")) else declared
    found = [Attachment(filename, shown, len(data), camera=shown.startswith("image/") and from_camera(data))]
    if sniffed == "application/zip" or declared in ("application/zip", "application/x-zip-compressed"):
        found.extend(_members(filename, data))
    return found


def _members(archive: str, data: bytes) -> list[Attachment]:
    """Pictures and videos inside a zip, one level deep, each sniffed from its first bytes."""
    found: list[Attachment] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zipped:
            for info in zipped.infolist()[:_MAX_MEMBERS]:
                if info.is_dir():
                    continue
                with zipped.open(info) as member:
                    head = member.read(_CAMERA_WINDOW)
                kind = sniffed_type(head)
                if kind is not None and kind.startswith(("image/", "video/")):
                    name = f"{archive}/{info.filename}"
                    found.append(Attachment(name, kind, info.file_size, camera=from_camera(head)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, ValueError, NotImplementedError):
        # Encrypted, damaged or exotic: the archive itself is listed; what it hides cannot be read.
        found.append(Attachment(f"{archive}/(unreadable contents)", "application/octet-stream", None))
    return found


def inline_pictures(markup: str) -> list[Attachment]:
    """Pictures carried inside HTML as data: URIs (a client shows them like attachments)."""
    found: list[Attachment] = []
    for match in _DATA_URI.finditer(markup):
        if len(found) >= _MAX_DATA_URIS:
            break
        head = _decoded_head(match.group(2))
        kind = (sniffed_type(head) if head else None) or match.group(1).lower()
        found.append(Attachment("(inline picture)", kind, None, camera=from_camera(head)))
    return found


def _decoded_head(encoded: str) -> bytes:
    text = "".join(encoded.split())
    text = text[: len(text) // 4 * 4]
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return b""
