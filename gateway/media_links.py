"""Links to an MMS's media for the provider to fetch when it sends a copy: the relay's own web server
serves ``/media/<digest>`` from the body store, to whoever holds a link signed with the relay's webhook
secret (HMAC-SHA256 over the digest and its type), and to no one else; the digests are not guessable
either, but a link must not be forgeable from a digest seen in a log."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode


class MediaLinks:
    def __init__(self, secret: str, public_url: str) -> None:
        self._key = hashlib.sha256(b"chaperone media links\0" + secret.encode()).digest()
        self.base = public_url.rstrip("/")

    def signature(self, digest: str, content_type: str) -> str:
        return hmac.new(self._key, f"{digest}\0{content_type}".encode(), hashlib.sha256).hexdigest()

    def url(self, digest: str, content_type: str) -> str:
        query = urlencode({"type": content_type, "sig": self.signature(digest, content_type)})
        return f"{self.base}/media/{quote(digest, safe=':')}?{query}"

    def valid(self, digest: str, content_type: str, signature: str) -> bool:
        return hmac.compare_digest(self.signature(digest, content_type), signature)
