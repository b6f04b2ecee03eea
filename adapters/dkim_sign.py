"""DKIM-signing outbound copies with the district key (dkimpy).

The relay rewrites To/Cc/Reply-To, so a staff client's own signature no longer verifies; the district
signs what it actually sends. Signing is CPU work (RSA), so it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio

import dkim

from gateway.config import ConfigError, Settings

# The fields a reader relies on; To/Cc/Reply-To are ours and signed too.
SIGNED_HEADERS = [b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
                  b"content-type", b"content-transfer-encoding"]  # fmt: skip


class DkimSigner:
    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector.encode()
        self.domain = domain.encode()
        self.private_key = private_key

    async def sign(self, message: bytes) -> bytes:
        return await asyncio.to_thread(self.sign_now, message)

    def sign_now(self, message: bytes) -> bytes:
        signature: bytes = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.private_key,
            include_headers=SIGNED_HEADERS,
            canonicalize=(b"relaxed", b"simple"),
        )
        return signature + message


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    config = settings.dkim
    if not config.enabled:
        return None
    assert config.selector and config.domain and config.key_file
    try:
        key = config.key_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"[dkim] key_file: cannot read {config.key_file}: {exc.strerror}") from None
    return DkimSigner(config.selector, config.domain, key)
