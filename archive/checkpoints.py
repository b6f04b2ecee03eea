"""Signed tree heads: the district's Ed25519 key signs (tree size, root hash, time), so that an insider who
rewrites the database and recomputes every hash is still caught by a checkpoint signed before, kept in the
archive and outside it (a witness the database administrator cannot rewrite).

The signed bytes are a short text, one field a line, in the spirit of C2SP's signed notes::

    chaperone-checkpoint/1
    <tree size>
    <root hash, base64>
    <signed at, ISO 8601 UTC>

Anyone with the public key checks one with ``valid``: no archive, no relay.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "chaperone-checkpoint/1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    root: bytes
    signed_at: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        return tree_head(self.size, self.root, self.signed_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "size": self.size,
            "root": _b64(self.root),
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": _b64(self.signature),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Checkpoint:
        if document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} checkpoint")
        return cls(
            int(document["size"]),
            base64.b64decode(document["root"], validate=True),
            str(document["signed_at"]),
            str(document["key_id"]),
            base64.b64decode(document["signature"], validate=True),
        )


def tree_head(size: int, root: bytes, signed_at: str) -> bytes:
    return f"{FORMAT}\n{size}\n{_b64(root)}\n{signed_at}\n".encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, size: int, root: bytes, when: datetime | None = None) -> Checkpoint:
    signed_at = (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    signature = key.sign(tree_head(size, root, signed_at))
    return Checkpoint(size, root, signed_at, key_id(key.public_key()), signature)


def valid(checkpoint: Checkpoint, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(checkpoint.signature, checkpoint.signed_bytes())
    except InvalidSignature:
        return False
    return checkpoint.key_id == key_id(public)


def private_key(text: str) -> Ed25519PrivateKey:
    """The district's key: base64 of the 32-byte seed (``chaperone archive keygen``), or PEM (PKCS#8)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("the checkpoint key is not an Ed25519 key")
        return loaded
    seed = base64.b64decode(text, validate=True)
    if len(seed) != 32:
        raise ValueError("the checkpoint key must be 32 bytes (base64) or a PEM Ed25519 key")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(text: str) -> Ed25519PublicKey:
    """A public key as ``public_text`` writes it (base64 of the 32 raw bytes), or PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return loaded
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def public_text(public: Ed25519PublicKey) -> str:
    return _b64(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def new_key_text() -> str:
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _b64(seed)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
