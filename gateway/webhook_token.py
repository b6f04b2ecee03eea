"""The secret Twilio signs its webhooks with: the account's auth token ([sms] auth_token, from the
environment, or auth_token_file). A relay with the development outbox and no token makes one of its own,
kept in data_dir (mode 0600), so that ``chaperone sms simulate`` signs exactly as Twilio would and the
webhook checks every request the same way in development as in production."""

from __future__ import annotations

import secrets

from gateway.config import ConfigError, Settings
from gateway.kept_secret import kept_secret


def webhook_token(settings: Settings) -> str:
    token = settings.sms.secret_auth_token()
    if token:
        return token
    if settings.sms.provider == "twilio":
        raise ConfigError(
            "[sms] provider = twilio needs auth_token (CHAPERONE_SMS__AUTH_TOKEN) or auth_token_file"
        )
    return kept_secret(settings.data_dir / "sms-dev-token", lambda: secrets.token_hex(20))
