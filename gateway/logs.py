"""Structured logging: JSON lines in production, a readable console in development.

Every line about one message carries its ``message_id`` (bound with ``bind_message``). Bodies, passwords
and tokens are never passed to a logger; ``drop_secrets`` removes them if someone tries.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_FORBIDDEN = {"password", "body", "raw", "auth_token", "token", "secret", "login_data"}


def drop_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _FORBIDDEN:
            event[key] = "[redacted]"
    return event


def configure(fmt: str = "console", level: str = "info") -> None:
    # aiosmtpd logs every session and its own deprecation notes to "mail.log"; our adapters log what
    # matters (with the message id), so only its errors are worth a line.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
