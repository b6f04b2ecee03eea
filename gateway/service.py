"""The relay as one running thing: every resource is started and closed here, in order.

Nothing is global: ``Relay`` owns the archive store, the directory, the delivery workers and the
listeners, and ``async with running_relay(settings)`` closes them all in reverse order whatever happens.
With several processes (gateway/processes.py) the same parts run apart: acceptance processes run
``running_relay(deliver=False)`` and one delivery process runs ``running_delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import structlog
from aiohttp import web
from cryptography.fernet import Fernet

from adapters.api_archive import archive_api_routes
from adapters.api_v1 import api_routes
from adapters.dkim_sign import signer_from_settings
from adapters.portal import Portal, portal_app
from adapters.sms_transport import sms_transport_from_settings
from adapters.smtp_auth import SignInThrottle
from adapters.smtp_guard import InFlight, Refusals
from adapters.smtp_inbound import InboundHandler
from adapters.smtp_server import ErrorLimits, Listener, listen
from adapters.smtp_submission import SubmissionHandler
from adapters.transport import transport_from_settings
from adapters.twilio_media import MediaDownloads
from adapters.twilio_webhooks import twilio_app
from archive.backends import open_store
from archive.checkpoints import private_key
from archive.store import Store
from gateway.admission import Admission
from gateway.archive_reader import ArchiveReader
from gateway.config import ConfigError, Settings
from gateway.conversations import ConversationRoutes
from gateway.credentials import GuardianCredentials, StaffCredentials
from gateway.decide import PolicyDecider
from gateway.delivery import DeliveryWorkers
from gateway.directory import Directory
from gateway.evidence import Notary
from gateway.invitations import Invitations
from gateway.kept_secret import kept_secret
from gateway.media_links import MediaLinks
from gateway.pipeline import Pipeline
from gateway.queue import QueuedDelivery
from gateway.refusals import RefusalArchive, record_security_event, record_sign_in
from gateway.review import ReviewDesk
from gateway.roster_snapshot import (
    follow_snapshot,
    load_directory,
    roster_snapshot_path,
    snapshot_identity,
)
from gateway.status import DeliveryStatus
from gateway.text_fallback import EmailFallback
from gateway.texting import Texting
from gateway.webhook_token import webhook_token

log = structlog.get_logger("gateway.service")
_OUTCOME_LINGER = 0.02


@dataclass
class Relay:
    settings: Settings
    directory: Directory
    store: Store
    pipeline: Pipeline
    workers: DeliveryWorkers | None  # None in an acceptance process: the parent delivers
    listeners: dict[str, Listener]
    sign_ins: SignInThrottle  # failed sign-ins, at SMTP AUTH and the portal alike
    texting: Texting | None = None  # None without SMS ([sms] relay_numbers)
    web_ports: list[int] = field(default_factory=list)  # the HTTP server's (the portal, Twilio's webhooks)

    def port(self, name: str) -> int:
        """The bound port of a listener ("submission", "submission_tls", "inbound", "web"); tests bind
        port 0."""
        if name == "web":
            return self.web_ports[0]
        return self.listeners[name].port


@contextlib.asynccontextmanager
async def running_relay(
    settings: Settings,
    directory: Directory | None = None,
    *,
    deliver: bool = True,
    sockets: Mapping[str, socket.socket] | None = None,
) -> AsyncIterator[Relay]:
    """Listeners, pipeline and archive; and the delivery workers unless another process delivers."""
    tls = _tls_context(settings)
    snapshot = roster_snapshot_path(settings)
    loaded = snapshot_identity(snapshot)  # before loading: an import landing meanwhile is not missed
    if directory is None:
        directory = await asyncio.to_thread(load_directory, snapshot)
    async with contextlib.AsyncExitStack() as stack:
        every = settings.roster.reload_seconds
        follow = asyncio.create_task(follow_snapshot(snapshot, directory, every, loaded=loaded))
        stack.push_async_callback(_cancel, follow)
        store = open_store(settings.archive.url)
        await store.start()
        stack.push_async_callback(store.close)
        workers = await _start_delivery(stack, settings, store) if deliver else None
        pipeline = Pipeline(
            settings=settings,
            directory=directory,
            store=store,
            # Built off the loop: the policy pack and the content model take a moment to load.
            decider=await asyncio.to_thread(PolicyDecider, settings, directory),
            wake_delivery=workers.wake if workers is not None else _ring_on_ready(stack, store),
            delivery_claimant=workers.claimant if workers is not None else None,
        )

        credentials = StaffCredentials(settings.data_dir)
        sign_ins = _sign_in_throttle(settings, store)  # SMTP AUTH's and the portal's, counted together
        smtp = settings.smtp
        refusal_archive = RefusalArchive(store, individually=smtp.refusals_archived_per_connection)
        stack.push_async_callback(refusal_archive.drain)
        refusals = Refusals(refusal_archive, per_client_per_minute=smtp.refusals_per_client_minute)
        admission = Admission(directory)
        submission = SubmissionHandler(
            settings=settings,
            admission=admission,
            pipeline=pipeline,
            verify_password=credentials.verify_async,
            refusals=refusals,
            sign_ins=sign_ins,
        )
        routes = ConversationRoutes(
            store, relay_domain=settings.district.relay_domain, idle_days=smtp.conversation_idle_days
        )
        inbound = InboundHandler(
            settings=settings, admission=admission, conversations=routes, pipeline=pipeline, refusals=refusals
        )
        listeners: dict[str, Listener] = {}
        shared = sockets or {}
        open_listener = partial(
            listen,
            hostname=smtp.hostname,
            data_size_limit=smtp.max_message_size,
            idle_timeout=smtp.data_timeout,
            in_flight=InFlight(limit=smtp.max_bytes_in_flight),  # one budget for every listener
            error_limits=ErrorLimits(soft=smtp.soft_error_limit, hard=smtp.hard_error_limit),
        )
        opened = smtp.listeners
        if "submission" in opened:
            listeners["submission"] = await open_listener(
                submission,
                opened["submission"],
                sock=shared.get("submission"),
                starttls=tls,
                auth_required=True,
                auth_require_tls=smtp.require_tls,
                trust_loopback_as=smtp.trust_loopback_as,
            )
        if "submission_tls" in opened and tls is not None:
            listeners["submission_tls"] = await open_listener(
                submission,
                opened["submission_tls"],
                sock=shared.get("submission_tls"),
                implicit_tls=tls,
                auth_required=True,
                # The whole connection is TLS; aiosmtpd only recognises TLS it negotiated (STARTTLS).
                auth_require_tls=False,
            )
        if "inbound" in opened:
            listeners["inbound"] = await open_listener(
                inbound,
                opened["inbound"],
                sock=shared.get("inbound"),
                auth_required=False,
                auth_require_tls=True,
                auth_exclude_mechanism=("LOGIN", "PLAIN"),  # AUTH on port 25 is not recognised
                starttls=tls,
            )
        for listener in listeners.values():
            stack.push_async_callback(listener.close)
        relay = Relay(settings, directory, store, pipeline, workers, listeners, sign_ins)
        if settings.sms.enabled:
            token = webhook_token(settings)
            downloads = MediaDownloads(settings.sms.account_sid, token)
            stack.push_async_callback(downloads.close)
            relay.texting = Texting(
                settings=settings, directory=directory, store=store, pipeline=pipeline, media=downloads
            )
        if settings.web.listen:
            relay.web_ports = await _serve_web(stack, relay)
        log.info("relay started", listeners={name: relay.port(name) for name in listeners})
        if not smtp.require_tls:
            log.warning("AUTH is offered without TLS (smtp.require_tls = false): development only")
        yield relay


@contextlib.asynccontextmanager
async def running_delivery(settings: Settings) -> AsyncIterator[DeliveryWorkers]:
    """Only the delivery workers, in a process of their own: the processes that queue copies ring their
    doorbell (the store's: archive.store.Doorbell), and they look at the queue every
    ``[delivery] poll_seconds`` besides."""
    async with contextlib.AsyncExitStack() as stack:
        # Only outcomes are written here, and no client waits on them: commit them many at a time, so
        # this process takes the archive's turn seldom and the acceptance processes get it at once.
        store = open_store(settings.archive.url, linger=_OUTCOME_LINGER)
        await store.start()
        stack.push_async_callback(store.close)
        yield await _start_delivery(stack, settings, store)


async def _serve_web(stack: contextlib.AsyncExitStack, relay: Relay) -> list[int]:
    """The HTTP server: the portal and the archive's JSON API; with SMS, Twilio's webhooks, the MMS media
    links and the texting API.
    Several acceptance processes share its port (SO_REUSEPORT)."""
    settings, store = relay.settings, relay.store
    app = _sms_app(settings, relay.texting, store) if relay.texting is not None else web.Application()
    portal = _portal(stack, relay)
    app.add_routes(archive_api_routes(portal))
    app.add_subapp("/portal/", portal_app(portal))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    assert settings.web.listen is not None
    host, _, port = settings.web.listen.rpartition(":")
    site = web.TCPSite(runner, host.strip("[]"), int(port), reuse_port=True)
    await site.start()
    return [int(address[1]) for address in runner.addresses]  # port 0 resolved


def _sms_app(settings: Settings, texting: Texting, store: Store) -> web.Application:
    token = webhook_token(settings)
    app = twilio_app(
        texting=texting,
        status=DeliveryStatus(store, EmailFallback(settings, texting.directory, store)),
        auth_token=token,
        public_url=settings.sms.public_url,
        security_event=partial(record_security_event, store),
        media_links=MediaLinks(token, settings.sms.public_url),
        load_media=store.body,
    )
    app.add_routes(
        api_routes(
            texting=texting,
            directory=texting.directory,
            verify_password=StaffCredentials(settings.data_dir).verify_async,
            security_event=partial(record_security_event, store),
        )
    )
    return app


def _portal(stack: contextlib.AsyncExitStack, relay: Relay) -> Portal:
    settings, store = relay.settings, relay.store
    doorbell = store.doorbell()
    stack.push_async_callback(doorbell.close)
    signing = settings.archive.signing_key()
    key = settings.web.secret_session_key() or kept_secret(
        settings.data_dir / "portal-session-key", lambda: Fernet.generate_key().decode()
    )
    return Portal(
        settings=settings,
        directory=relay.directory,
        reader=ArchiveReader(store),
        desk=ReviewDesk(settings, store, relay.directory),
        staff_passwords=StaffCredentials(settings.data_dir).verify_async,
        guardian_passwords=GuardianCredentials(settings.data_dir).verify_async,
        sign_ins=relay.sign_ins,
        signed_in=partial(record_sign_in, store),
        ring=doorbell.ring if relay.workers is None else relay.workers.wake,
        session_key=key,
        notary=Notary(store, private_key(signing), settings.archive.witness) if signing else None,
        invitations=Invitations(settings.data_dir),
        set_guardian_password=GuardianCredentials(settings.data_dir).set_password_async,
    )


def _sign_in_throttle(settings: Settings, store: Store) -> SignInThrottle:
    """Failed sign-ins, SMTP's and the portal's alike, counted per address and per client."""
    smtp = settings.smtp
    return SignInThrottle(
        per_address=smtp.auth_failures_per_address,
        per_client=smtp.auth_failures_per_client,
        seconds=smtp.auth_window_seconds,
        record=partial(record_security_event, store),
    )


def _ring_on_ready(
    stack: contextlib.AsyncExitStack, store: Store
) -> Callable[[list[QueuedDelivery], bytes], None]:
    """In an acceptance process: ring the delivery process's doorbell when a commit queued copies for now."""
    doorbell = store.doorbell()
    stack.push_async_callback(doorbell.close)
    return lambda ready, raw: doorbell.ring() if ready else None


async def _start_delivery(
    stack: contextlib.AsyncExitStack, settings: Settings, store: Store
) -> DeliveryWorkers:
    transport = transport_from_settings(settings)
    stack.push_async_callback(transport.close)
    texts = sms_transport_from_settings(settings, store.reserve_send)
    if texts is not None:
        stack.push_async_callback(texts.close)
    workers = DeliveryWorkers(
        store,
        transport,
        settings.delivery,
        reporting_mta=settings.smtp.hostname,
        signer=signer_from_settings(settings),
        texts=texts,
        poll=settings.delivery.poll_seconds,
    )
    worker_task = asyncio.create_task(workers.run(), name="delivery-workers")
    stack.push_async_callback(_cancel, worker_task)
    # One process per relay signs checkpoints: the one that delivers.
    key = settings.archive.signing_key()
    if key is not None:
        notary = Notary(store, private_key(key), settings.archive.witness)
        signing = asyncio.create_task(notary.run(settings.archive.checkpoint_seconds), name="checkpoints")
        stack.push_async_callback(_cancel, signing)
    doorbell = store.doorbell()
    await doorbell.answer(workers.wake)
    stack.push_async_callback(doorbell.close)
    return workers


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    smtp = settings.smtp
    if smtp.tls_cert is None or smtp.tls_key is None:
        if smtp.require_tls:
            raise ConfigError(
                "[smtp] require_tls = true needs tls_cert and tls_key "
                "(set require_tls = false only for development)"
            )
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(smtp.tls_cert, smtp.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[smtp] tls_cert/tls_key: cannot load: {exc}") from None
    return context


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
