"""Delivery workers: take due copies from the durable queue, send them, and record what happened.

A copy is marked sent only after the transport accepted it, in the same transaction as the archive record
of the attempt; a crash in between means the copy is sent again after restart (at least once), but a copy
recorded as sent is never sent again. Temporary failures retry with exponential backoff and jitter until
the copy's lifetime runs out; then, or at once on a permanent failure, the sender gets a DSN.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from archive.changes import Changes
from archive.models import Conflict
from archive.records import Record, RecordKind
from archive.store import Ready, Store
from gateway import queue
from gateway.channels.sms import TextCopy
from gateway.config import Delivery
from gateway.dsn import build_dsn
from gateway.headers import assemble, split_message
from gateway.models import Channel, Purpose, new_id
from gateway.outbound import OutboundText, RecipientOutcome, Signer, Transport

log = structlog.get_logger("gateway.delivery")
_REMEMBERED = 10_000
_SHUTDOWN_GRACE = 10.0  # seconds a stopping relay waits for the copies it is sending
_CLAIM_BATCH = 64  # copies claimed from the queue at a time
# Copies the relay wrote itself about a message (a DSN, the sender's notice, an alert): they go out while
# the message itself is held, so the message's release does not govern them.
_RELAY_WRITTEN = frozenset({str(Purpose.DSN), str(Purpose.NOTICE), str(Purpose.ALERT)})


class DeliveryWorkers:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        settings: Delivery,
        *,
        reporting_mta: str,
        signer: Signer | None = None,
        texts: Transport | None = None,
        clock: Callable[[], float] = time.time,
        poll: float = 5.0,
    ) -> None:
        self.store = store
        # E-mail copies go by ``transport``, texts by ``texts`` (the SMS provider; None: the relay has none).
        self.transport = transport
        self.texts = texts
        self.settings = settings
        self.reporting_mta = reporting_mta
        self.signer = signer
        self.clock = clock
        # When nothing is due: how long before looking again for copies queued by another process, should
        # its ring at the doorbell (archive.store.Doorbell) have gone unheard.
        self.poll = poll
        # Who holds the copies this process takes from the queue (the claim's name, in the queue rows).
        self.claimant = f"{socket.gethostname()}:{os.getpid()}:{new_id('w-')}"
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()  # being sent, or sent and not yet recorded
        # Copies on the wire: a worker is free again once the far side has answered, while the archive
        # records the outcome, so that outcomes are committed many at a time (a lingering store).
        self._sending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        # Copies handed over straight from the commit that queued them, with the message's bytes: the
        # common case needs no queue lookup. The queue itself is read for retries, releases and restarts.
        self._ready: deque[tuple[queue.QueuedDelivery, bytes | None]] = deque()
        self._finished: OrderedDict[str, None] = OrderedDict()  # recent ids: a hand-over never resends

    def wake(self, ready: Sequence[queue.QueuedDelivery] = (), raw: bytes = b"") -> None:
        self._ready.extend((delivery, raw) for delivery in ready)
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        await self._release_stale_claims()
        try:
            while True:
                free = self.settings.workers - self._sending
                fresh: list[tuple[queue.QueuedDelivery, bytes | None]] = []
                while len(fresh) < free and self._ready:
                    handed, raw = self._ready.popleft()
                    if handed.delivery_id not in self._in_flight and handed.delivery_id not in self._finished:
                        fresh.append((handed, raw))
                if len(fresh) < free and not self._ready:
                    # Claimed in batches (a claim is a transaction): what does not go now waits here, ours.
                    self._ready.extend(await self._due(max(free - len(fresh), _CLAIM_BATCH)))
                    while len(fresh) < free and self._ready:
                        fresh.append(self._ready.popleft())
                for delivery, body in fresh:
                    self._in_flight.add(delivery.delivery_id)
                    self._sending += 1
                    task = asyncio.create_task(self._deliver(delivery, body))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if not fresh:
                    await self._sleep_until_due(busy=free <= 0)
        finally:
            # Shutting down: copies on the wire are let finish and their outcomes recorded, for a while;
            # a copy cut off mid-transaction may have reached the far side unrecorded, and would go again.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=_SHUTDOWN_GRACE)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            # Whatever this process still holds has no recorded outcome: another may take it at once.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.store.release_claims({self.claimant}), _SHUTDOWN_GRACE)

    async def _release_stale_claims(self) -> None:
        """Copies claimed by a delivery process of this host that is gone (killed before it recorded
        their outcome) are taken back at once rather than when their lease runs out: its process id is
        not running, or is ours (a restart that got the same id, as in a container)."""
        host = socket.gethostname()
        try:
            stale = {c for c in await self.store.claimants(self.clock()) if _gone(c, host, self.claimant)}
            if stale:
                released = await self.store.release_claims(stale)
                log.warning("copies of a stopped delivery process taken back", copies=released)
        except Exception:
            log.exception("cannot look for stale claims; they are taken back when their lease runs out")

    async def _due(self, limit: int) -> list[Ready]:
        """Copies due now, claimed for this process, less those whose messages the archive holds back."""
        now = self.clock()
        try:
            found = await self.store.claim_due(
                now, limit, claimant=self.claimant, lease_seconds=self.settings.lease_seconds
            )
            messages = {d.message_id for d, _ in found if d.purpose not in _RELAY_WRITTEN}
            unreleased: set[str] = set()
            if messages:  # (no ids would read every message's records)
                decided = await self.store.records(message_ids=messages, kinds=queue.RELEASE_RECORDS)
                unreleased = queue.unreleased(decided, now)
            if unreleased:
                await self._hold_again([d for d, _ in found if d.message_id in unreleased])
        except Exception:
            # The archive is unreadable for now (a full disk, a restarting store): the queue is still
            # there, so log it and look again at the next pass rather than stop delivering for good.
            log.exception("cannot read the delivery queue")
            return []
        return [(d, raw) for d, raw in found if d.purpose in _RELAY_WRITTEN or d.message_id not in unreleased]

    async def _hold_again(self, copies: list[queue.QueuedDelivery]) -> None:
        """Copies the queue says may go but the archive does not (no approval, quiet hours not over):
        back to held, with an alert for the district to find who changed the queue."""
        log.error("copies released without an archived decision: held again", copies=len(copies))
        writes = Changes()
        for copy in copies:
            queue.set_state(
                writes, copy, queue.State.HELD,
                remaining=copy.recipients, not_before=copy.not_before, attempts=copy.attempts,
            )  # fmt: skip
            writes.append(
                Record(
                    RecordKind.ALERT,
                    copy.message_id,
                    {
                        "reason": "queued copy not released by the archived records",
                        "delivery_id": copy.delivery_id,
                    },
                )
            )
        await self.store.commit(writes)

    async def _sleep_until_due(self, *, busy: bool) -> None:
        """Until a copy finishes or is queued (``wake``), or the next one falls due. Every worker busy:
        only a finishing copy frees one, so there is nothing to look up."""
        delay = self.poll
        if not busy:
            try:
                next_due = await self.store.next_due_at()
            except Exception:
                next_due = None  # _due has logged it
            delay = self.poll if next_due is None else min(self.poll, max(0.0, next_due - self.clock()))
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as
        # the wake-up does, and the relay would never finish shutting down.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(delay, 0.01)):
                await self._wake.wait()
        self._wake.clear()

    async def _deliver(self, delivery: queue.QueuedDelivery, raw: bytes | None) -> None:
        structlog.contextvars.bind_contextvars(message_id=delivery.message_id)
        try:
            try:
                outcomes = await self._attempt(delivery, raw)
            finally:
                self._sending -= 1
                self._wake.set()
            writes = Changes()
            self._record(writes, delivery, outcomes)
            # The far side has the copy: its record must land even while the relay shuts down, or the
            # copy would go out again after the restart.
            await asyncio.shield(self.store.commit(writes))
        except Conflict:
            # Our claim ran out and another worker took the copy: what it records stands.
            log.error("claim lost before the outcome was recorded", delivery_id=delivery.delivery_id)
        except Exception:
            # The archive could not record the attempt (a full disk): the row stays as it was and the
            # next pass tries again; a queued copy is never lost to a failure here.
            log.exception("delivery outcome not recorded", delivery_id=delivery.delivery_id)
        finally:
            self._in_flight.discard(delivery.delivery_id)
            self._finished[delivery.delivery_id] = None
            if len(self._finished) > _REMEMBERED:
                self._finished.popitem(last=False)
            self._wake.set()

    async def _attempt(self, delivery: queue.QueuedDelivery, raw: bytes | None) -> list[RecipientOutcome]:
        """One attempt, whatever goes wrong in it. A copy we cannot build (a missing body, a header the
        signer cannot read) will never build: it fails at once. Anything else that raises counts as a
        temporary failure and takes the backoff like a 4xx, so one bad copy never spins the queue."""
        try:
            message = await self._render(delivery, raw)
        except Exception as exc:
            log.error("copy cannot be built", delivery_id=delivery.delivery_id, error=repr(exc)[:200])
            return _at_relay(delivery, 554, f"5.3.0 the relay could not build this copy: {exc!r}")
        transport = self.texts if delivery.channel == Channel.SMS else self.transport
        if transport is None:
            return _at_relay(delivery, 554, "5.3.0 the relay has no SMS provider configured ([sms])")
        try:
            return list(await transport.send(delivery.envelope_from, delivery.recipients, message))
        except Exception as exc:
            log.error("delivery attempt raised", delivery_id=delivery.delivery_id, error=repr(exc)[:200])
            return _at_relay(delivery, 451, f"4.3.0 the delivery attempt failed: {exc!r}")

    async def _render(self, delivery: queue.QueuedDelivery, raw: bytes | None) -> bytes:
        if raw is None:
            raise LookupError(f"archived body {delivery.body_digest} is missing")
        if delivery.channel == Channel.SMS:
            copy = TextCopy.of(delivery.headers)
            return OutboundText(copy.prefix + raw.decode(errors="replace"), copy.media).to_bytes()
        _, body = split_message(raw)
        message = assemble(delivery.headers, body)
        if self.signer is not None:
            message = await self.signer.sign(message)
        return message

    # --- what an attempt writes to the archive -----------------------------------------------------------

    def _record(
        self, writer: Changes, delivery: queue.QueuedDelivery, outcomes: Sequence[RecipientOutcome]
    ) -> None:
        now = self.clock()
        attempts = delivery.attempts + 1
        writer.append(
            Record(
                RecordKind.DELIVERY_ATTEMPT,
                delivery.message_id,
                {
                    "delivery_id": delivery.delivery_id,
                    "attempt": attempts,
                    "outcomes": [
                        {"recipient": o.recipient, "code": o.code, "text": o.text} for o in outcomes
                    ],
                },
            )
        )
        expired = now >= delivery.expires_at
        retry = tuple(o.recipient for o in outcomes if o.temporary) if not expired else ()
        failed = [o for o in outcomes if o.permanent or (o.temporary and expired)]
        if failed:
            self._bounce(writer, delivery, failed)
            if any(o.at_relay for o in failed):
                # Not the far side's doing: someone at the district must look at the relay.
                writer.append(
                    Record(
                        RecordKind.ALERT,
                        delivery.message_id,
                        {
                            "reason": "delivery failed at the relay",
                            "delivery_id": delivery.delivery_id,
                            "attempts": attempts,
                            "errors": sorted({o.text[:300] for o in failed if o.at_relay}),
                        },
                    )
                )
        if retry:
            queue.set_state(
                writer,
                delivery,
                queue.State.PENDING,
                remaining=retry,
                not_before=now + self._backoff(attempts),
                attempts=attempts,
            )
            return
        provider_id = next((o.provider_id for o in outcomes if o.delivered and o.provider_id), None)
        if provider_id is not None and not failed:
            # Accepted by a provider that reports later: the copy waits for its status callback.
            queue.set_state(
                writer, delivery, queue.State.ACCEPTED, remaining=(), not_before=now, attempts=attempts,
                provider_id=provider_id,
            )  # fmt: skip
            writer.append(
                Record(
                    RecordKind.DELIVERY_ACCEPTED,
                    delivery.message_id,
                    {"delivery_id": delivery.delivery_id, "provider_id": provider_id},
                )
            )
            return
        final = queue.State.FAILED if failed else queue.State.SENT
        queue.set_state(writer, delivery, final, remaining=(), not_before=now, attempts=attempts)
        kind = RecordKind.DELIVERY_FAILED if failed else RecordKind.DELIVERY_DONE
        writer.append(Record(kind, delivery.message_id, {"delivery_id": delivery.delivery_id}))

    def _backoff(self, attempts: int) -> float:
        base = self.settings.first_retry_seconds * 2 ** (attempts - 1)
        return float(min(base, self.settings.max_retry_seconds) * random.uniform(0.8, 1.2))

    def _bounce(
        self, writer: Changes, delivery: queue.QueuedDelivery, failed: Sequence[RecipientOutcome]
    ) -> None:
        if delivery.purpose == Purpose.DSN or "@" not in delivery.envelope_from:
            return  # never bounce a bounce; a text's sender hears of it otherwise (gateway.texting)
        original = assemble(delivery.headers, b"")
        dsn = build_dsn(
            original=original,
            envelope_from=delivery.envelope_from,
            reporting_mta=self.reporting_mta,
            bounce_from=self.settings.bounce_from,
            failures=failed,
            arrival_date=datetime.fromtimestamp(delivery.not_before, UTC),
        )
        if dsn is None:
            return
        queue.enqueue_generated(
            writer,
            message_id=delivery.message_id,
            recipients=(delivery.envelope_from,),
            raw=dsn,
            purpose=str(Purpose.DSN),
            now=self.clock(),
            lifetime_seconds=self.settings.lifetime_hours * 3600,
        )
        writer.append(
            Record(
                RecordKind.DSN,
                delivery.message_id,
                {"delivery_id": delivery.delivery_id, "failed": [o.recipient for o in failed]},
            )
        )


def _at_relay(delivery: queue.QueuedDelivery, code: int, text: str) -> list[RecipientOutcome]:
    return [RecipientOutcome(r, code, text[:500], at_relay=True) for r in delivery.recipients]


def _gone(claimant: str, host: str, ours: str) -> bool:
    claimed_host, _, rest = claimant.partition(":")
    pid_text, _, _ = rest.partition(":")
    if claimed_host != host or not pid_text.isdigit() or claimant == ours:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False
