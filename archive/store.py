"""The store interface: what the gateway may ask of the archive, whatever holds it.

Evidence (the append-only record log and the bodies it names) and working state (the delivery queue,
conversations, reviews, SMS sessions and opt-outs) are kept apart in the schema; both change only through
a ``Changes`` unit, committed durably in one transaction, so a queue row never moves without the record
that explains it. Two backends implement it: ``archive.sqlite`` (embedded, one file) and
``archive.postgres`` (asyncpg, several relay instances). ``open_store`` picks one by ``[archive] url``.
Every read returns models (``archive.models``); no SQL leaves this package.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from archive.changes import Changes
from archive.checkpoints import Checkpoint
from archive.models import (
    ArchivedRecord,
    LegalHold,
    LogEntry,
    QueuedDelivery,
    ReviewEntry,
    SealedEntry,
    SearchHit,
    SearchQuery,
    SmsSession,
    StoredConversation,
)

Ready = tuple[QueuedDelivery, bytes | None]  # a copy claimed, with the original message's bytes


class EvidenceLog(Protocol):
    async def records(
        self,
        *,
        message_ids: Collection[str] = (),
        kinds: Collection[str] = (),
        limit: int | None = None,
        after: int = 0,
        before: str | None = None,
    ) -> list[ArchivedRecord]:
        """Records in log order, of these messages and kinds (empty: any), with index above ``after`` and,
        if given, recorded before ``before`` (ISO time)."""
        ...

    async def count_records(self, kind: str | None = None) -> int: ...

    async def log_entries(self, after: int, limit: int) -> list[LogEntry]:
        """Up to ``limit`` records with index above ``after``, in index order: what the tree is built of."""
        ...

    async def checkpoints(self) -> list[Checkpoint]:
        """Every signed tree head the archive keeps, smallest tree first."""
        ...

    async def sealed_entries(self, after: int, limit: int) -> list[SealedEntry]:
        """Up to ``limit`` records with index above ``after`` whose openings are kept, in index order."""
        ...


class Bodies(Protocol):
    async def body(self, digest: str) -> bytes | None: ...


class Search(Protocol):
    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """Messages the index finds, newest first (a thread: oldest first), at most ``query.limit``."""
        ...


class Retention(Protocol):
    async def legal_holds(self, *, in_force: bool = True) -> list[LegalHold]: ...

    async def sealed_leaves(
        self, message_ids: Collection[str], *, unlinked_before: str | None
    ) -> list[bytes]:
        """The leaf hashes, with openings still kept, of these messages' records and of the records tied
        to no message made before ``unlinked_before`` (ISO time; None: none of those)."""
        ...

    async def disposed(self, items: Collection[str]) -> set[str]:
        """Which of these (``Disposal.items`` names) were disposed of already."""
        ...


class DeliveryQueue(Protocol):
    async def claim_due(self, now: float, limit: int, *, claimant: str, lease_seconds: float) -> list[Ready]:
        """Up to ``limit`` pending copies due at ``now`` that no live claim holds, oldest first, now
        claimed by ``claimant`` until ``now + lease_seconds``; each with its message's bytes."""
        ...

    async def claimants(self, now: float) -> set[str]:
        """Who holds a live claim on some copy."""
        ...

    async def release_claims(self, claimants: Collection[str]) -> int:
        """Let go of these claimants' copies (their processes are gone); returns how many."""
        ...

    async def next_due_at(self) -> float | None: ...

    async def copies(self, message_id: str) -> list[QueuedDelivery]: ...

    async def copy_by_provider(self, provider_id: str) -> QueuedDelivery | None:
        """The copy a provider accepted under this id (its status callback names it)."""
        ...


class Conversations(Protocol):
    async def conversation(self, token: str) -> StoredConversation | None: ...

    async def used_since(self, conversation: StoredConversation, cutoff: datetime) -> bool:
        """Whether a message was opened or replied through the conversation at or after ``cutoff``."""
        ...


class Reviews(Protocol):
    async def review(self, message_id: str) -> ReviewEntry | None: ...

    async def reviews(self, states: Sequence[str]) -> list[ReviewEntry]:
        """Reviews in these states, oldest opened first."""
        ...


class SmsState(Protocol):
    async def sms_sessions(
        self, phones: Collection[str], *, active_after: float, relay_number: str | None = None
    ) -> list[SmsSession]:
        """Sessions active after ``active_after`` (epoch seconds) in which one of these phones takes part,
        on ``relay_number`` only if given; the most recently active first."""
        ...

    async def opted_out(self, phones: Collection[str]) -> set[tuple[str, str]]:
        """(phone, relay number) pairs on which these phones said STOP and not START since."""
        ...

    async def reserve_send(self, relay_number: str, seconds: float, now: float) -> float:
        """Book the relay number for ``seconds`` of sending from its next free moment (``now`` at the
        earliest), for every process alike; returns when that moment is."""
        ...


class Doorbell(Protocol):
    """Waking the delivery workers that answer for this archive, whichever process or host they are in,
    when a copy may go now. Ringing never blocks and never fails a message: its copies are committed, and
    a ring nobody hears only means the next poll finds them."""

    def ring(self) -> None: ...

    async def answer(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever the bell rings, from now until ``close``."""
        ...

    async def close(self) -> None: ...


class Store(
    EvidenceLog, Bodies, Search, Retention, DeliveryQueue, Conversations, Reviews, SmsState, Protocol
):
    newly_applied: list[str]  # the schema migrations this store's start applied

    async def start(self) -> None:
        """Connect, and bring the schema up to date (``archive/migrations``)."""
        ...

    async def close(self) -> None: ...

    def doorbell(self) -> Doorbell:
        """A doorbell for this archive, to ring or to answer (a new one each call; close it)."""
        ...

    async def commit(self, changes: Changes) -> None:
        """Apply the unit in one transaction; return once it is durably committed. Raises ``Conflict``
        (nothing applied) when a guarded change finds its row otherwise."""
        ...
