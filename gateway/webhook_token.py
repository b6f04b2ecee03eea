"""The secret Twilio signs its webhooks with: the account's auth token ([sms] auth_token, from the
environment, or auth_token_file). A relay with the development outbox and no token makes one of its own,
kept in data_dir (mode 0600), so that ``chaperone sms simulate`` signs exactly as Twilio would and the
webhook checks every request the same way in development as in production."""

from __future__ import annotations

import os
import secrets

from gateway.config import ConfigError, Settings


def webhook_token(settings: Settings) -> str:
    token = settings.sms.secret_auth_token()
    if token:
        return token
    if settings.sms.provider == "twilio":
        raise ConfigError(
            "[sms] provider = twilio needs auth_token (CHAPERONE_SMS__AUTH_TOKEN) or auth_token_file"
        )
    path = settings.data_dir / "sms-dev-token"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(20))
    try:
        os.link(made, path)  # whole or not at all; a process that got there first keeps its token
    except FileExistsError:
        pass
    finally:
        made.unlink()
    return path.read_text(encoding="ascii").strip()
