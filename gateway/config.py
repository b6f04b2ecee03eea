"""Configuration: one TOML file, every key overridable by CHAPERONE_<SECTION>__<KEY>, validated at start.

An invalid file stops the process with one ``ConfigError`` naming the file, the line and the key.
Secrets never come from the TOML itself: they come from the environment or from a file the TOML names.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from archive.backends import check_url, redacted
from gateway.directory import e164

ENV_PREFIX = "CHAPERONE_"
# Keys whose values are secrets: allowed from the environment, refused in the TOML file.
SECRET_KEYS = {
    ("delivery", "password"),
    ("sms", "auth_token"),
    ("archive", "checkpoint_key"),
    ("web", "session_key"),
}


class ConfigError(Exception):
    """An invalid configuration, said in one line an administrator can act on."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(Section):
    name: str = "Northfield Unified School District"
    timezone: str = "America/Chicago"
    staff_domains: list[str] = ["nusd.example.org"]
    relay_domain: str = "relay.nusd.example.org"
    compliance_contact: str | None = None  # e-mail of the district compliance officer
    # District phone lines and social accounts that are not personal channels; the defaults, like the
    # domains above, are the sample district's (shared/district-sample), so it runs as documented.
    official_numbers: list[str] = ["+12025550100", "+12025550102", "+12025550103"]
    official_accounts: list[str] = ["@NorthfieldHS", "@NHSAthletics", "facebook.com/LakeviewMiddleNUSD"]
    official_services: list[str] = ["Canvas", "NUSD Connect"]  # approved platforms staff may point to

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("staff_domains")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [domain.lower().strip() for domain in value]


class Roster(Section):
    path: Path = Path("../shared/district-sample")  # the OneRoster CSV folder `roster import` reads
    # How often a running relay looks for a newer import (the snapshot `roster import` writes).
    reload_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The largest share (percent) of the guardian links, students or staff of the roster in force that an
    # import may drop; beyond it `roster import` refuses unless given --accept-drop (a damaged export).
    max_drop_percent: float = Field(default=5.0, ge=0, le=100)
    # Who stands in as supervisor for staff without one, or in a supervisor cycle: the [district]
    # compliance_contact, or no one. Recorded by `roster import`, so a change takes effect at the next one.
    supervisor_fallback: Literal["compliance", "none"] = "compliance"


class Archive(Section):
    url: str = "sqlite:///chaperone-data/archive.db"
    # The district's Ed25519 key that signs checkpoints (`chaperone archive keygen` makes one): from the
    # environment (CHAPERONE_ARCHIVE__CHECKPOINT_KEY) or checkpoint_key_file. Unset: no checkpoints.
    checkpoint_key: SecretStr | None = None
    checkpoint_key_file: Path | None = None
    # Its public half, for `archive verify` where the key itself is not (an investigator's machine).
    checkpoint_public_key: str | None = None
    checkpoint_seconds: float = Field(default=5.0, gt=0, le=3600)  # the window no checkpoint covers yet
    # Where every checkpoint is also appended, out of the database administrator's reach (another
    # volume, a WORM mount): `archive verify` holds the archive to it.
    witness: Path | None = None
    # The retention schedule: `archive purge` disposes of what is older and under no legal hold.
    retention_years: int = Field(default=7, ge=1, le=100)

    def signing_key(self) -> str | None:
        return secret(self.checkpoint_key, self.checkpoint_key_file)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        return check_url(value)


class Smtp(Section):
    submission: str | None = "127.0.0.1:2525"  # staff submission, AUTH required (587 with STARTTLS)
    submission_tls: str | None = None  # implicit TLS submission (465)
    inbound: str | None = "127.0.0.1:2526"  # replies to the relay domain only (25)
    hostname: str = "relay.nusd.example.org"
    require_tls: bool = True  # offer AUTH only after STARTTLS / on implicit TLS
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)
    max_recipients: int = Field(default=100, gt=0)
    data_timeout: float = Field(default=300.0, gt=0)  # seconds a client may sit idle
    # Message bytes all sessions of one process may hold at once; over it, DATA gets 452 4.3.1.
    max_bytes_in_flight: int = Field(default=128 * 1024 * 1024, gt=0)
    # Errors on one connection: from `soft_error_limit` each error reply waits a second; at
    # `hard_error_limit` the connection is closed with 421 (Postfix's smtpd_soft/hard_error_limit).
    soft_error_limit: int = Field(default=10, ge=1)
    hard_error_limit: int = Field(default=20, ge=1)
    # Failed sign-ins before AUTH answers 454 without checking, per address and per client IP, over
    # `auth_window_seconds`.
    auth_failures_per_address: int = Field(default=5, ge=1)
    auth_failures_per_client: int = Field(default=20, ge=1)
    auth_window_seconds: float = Field(default=900.0, gt=0)
    # Refusals archived one by one per connection; the rest are archived as one summary when it closes.
    refusals_archived_per_connection: int = Field(default=5, ge=1)
    # Refusals one client IP may collect in a minute; past that it gets 421 and is disconnected.
    refusals_per_client_minute: int = Field(default=60, ge=1)
    # Acceptance processes sharing the listening ports; above 1, delivery runs in a process of its own.
    processes: int = Field(default=1, ge=1, le=64)
    # Benchmarks only: treat loopback clients as this staff address without AUTH. Never a default.
    trust_loopback_as: str | None = None
    # Port 25 has no AUTH, so a reply's sender is only a claim: its From: domain must pass SPF or DKIM in
    # DMARC alignment, or the reply is held for review (adapters/sender_auth.py). Turn it off only where
    # an MTA in front of the relay verifies senders and refuses what fails.
    verify_inbound_senders: bool = True
    # Seconds all DNS lookups for one reply may take together; past them the result is temperror (held).
    inbound_dns_timeout: float = Field(default=10.0, gt=0, le=120)
    # The resolver those lookups ask, "IP" or "IP:PORT" ("[IPv6]:PORT"); unset: the system's (resolv.conf).
    inbound_dns_resolver: str | None = None
    # A conversation address through which no message has passed for this many days is refused (550).
    conversation_idle_days: float = Field(default=60.0, gt=0)

    @field_validator("submission", "submission_tls", "inbound")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        return listen_address(value)

    @field_validator("inbound_dns_resolver")
    @classmethod
    def _resolver_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        nameserver(value)  # raises ValueError naming what is wrong
        return value

    @property
    def listeners(self) -> dict[str, str]:
        """The listeners this configuration opens, by name, with their HOST:PORT (implicit TLS only with a
        certificate): the one answer for the relay that listens and the supervisor that binds for it."""
        addresses = {"submission": self.submission, "inbound": self.inbound}
        if self.tls_cert is not None and self.tls_key is not None:
            addresses["submission_tls"] = self.submission_tls
        return {name: address for name, address in addresses.items() if address}

    @property
    def inbound_nameserver(self) -> tuple[str, int] | None:
        return None if self.inbound_dns_resolver is None else nameserver(self.inbound_dns_resolver)


def secret(value: SecretStr | None, file: Path | None) -> str | None:
    """A secret from the environment, else from the file the configuration names."""
    if value is not None:
        return value.get_secret_value()
    if file is not None:
        return file.read_text(encoding="utf-8").strip()
    return None


def listen_address(value: str | None) -> str | None:
    """A listener's HOST:PORT; empty turns that listener off."""
    if value == "":
        return None
    if value is not None and not re.fullmatch(r"\[?[\w.:-]*\]?:\d{1,5}", value):
        raise ValueError(f"{value!r} is not HOST:PORT")
    return value


def nameserver(value: str) -> tuple[str, int]:
    """(IP address, port) of "IP", "IP:PORT" or "[IPv6]:PORT": a resolver is asked by address, not name."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r} is not IP, IP:PORT or [IPv6]:PORT") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: the port must be 1-65535")
    return str(address), int(port)


class Fanout(Section):
    mode: Literal["cc", "bcc", "separate"] = "cc"  # how supervisors and guardians get their copy
    adult_student_guardians: bool = False  # copy an adult (18+) student's guardians


class Delivery(Section):
    target: str = "maildir:chaperone-data/maildir"  # or smtp://host:port (smtps:// for implicit TLS)
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    lifetime_hours: float = Field(default=120.0, gt=0)  # give up and send a DSN after this (5 days)
    first_retry_seconds: float = Field(default=60.0, gt=0)
    max_retry_seconds: float = Field(default=3600.0, gt=0)
    workers: int = Field(default=4, ge=1)
    # How long a delivery worker holds a copy it took (its claim): past it, another worker may take the
    # copy (the first died). Longer than the slowest attempt, or one copy could go out twice.
    lease_seconds: float = Field(default=900.0, ge=60)
    # How often delivery looks at the queue unprompted: whoever queues a copy for now rings its doorbell.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # With [smtp] processes above 1: how much the delivery process yields the CPU to acceptance (nice(2)).
    nice: int = Field(default=10, ge=0, le=19)
    bounce_from: str = "mailer-daemon@relay.nusd.example.org"

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if not value.startswith(("maildir:", "smtp://", "smtps://")):
            raise ValueError("must be maildir:PATH, smtp://HOST:PORT or smtps://HOST:PORT")
        return value

    def secret_password(self) -> str | None:
        return secret(self.password, self.password_file)


class Sms(Section):
    # The district's relay numbers (E.164): the pool masked conversations are spread over. Staff start a
    # conversation by texting the first one ("@spatel ..."). Empty: the relay neither sends nor takes texts.
    relay_numbers: list[str] = []
    # "twilio" (Twilio's Messages API), or "outbox:PATH" (development: each text a JSON line in PATH).
    provider: str = "outbox:chaperone-data/sms-outbox.jsonl"
    account_sid: str | None = None
    auth_token: SecretStr | None = None  # from the environment (CHAPERONE_SMS__AUTH_TOKEN) or auth_token_file
    auth_token_file: Path | None = None
    api_base_url: str = "https://api.twilio.com"  # tests and local runs point it at a local server
    # What Twilio calls the relay's webhooks by: the signature covers this URL, so it must be exactly
    # the address configured at Twilio (scheme, host, port), as seen from outside any proxy.
    public_url: str = "http://127.0.0.1:8080"
    # A conversation with no text for this long is over: its relay number may serve someone else.
    session_idle_hours: float = Field(default=72.0, gt=0)
    # Segments a relay number sends per second (a US long code: about 1); texts queue per number.
    segments_per_second: float = Field(default=1.0, gt=0, le=100)
    api_timeout: float = Field(default=15.0, gt=0, le=120)  # seconds for one Twilio API request

    @field_validator("relay_numbers")
    @classmethod
    def _e164_numbers(cls, value: list[str]) -> list[str]:
        numbers = []
        for number in value:
            normal = e164(number)
            if normal is None:
                raise ValueError(f"{number!r} is not a valid phone number")
            numbers.append(normal)
        if len(set(numbers)) != len(numbers):
            raise ValueError("a relay number is listed twice")
        return numbers

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value != "twilio" and not value.startswith("outbox:"):
            raise ValueError('must be "twilio" or "outbox:PATH"')
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.relay_numbers)

    @property
    def main_number(self) -> str:
        return self.relay_numbers[0]

    def secret_auth_token(self) -> str | None:
        return secret(self.auth_token, self.auth_token_file)


class Web(Section):
    # The HTTP server: the portal (/portal/), Twilio's webhooks, MMS media links, the JSON API and
    # /healthz. Empty turns it off.
    listen: str | None = "127.0.0.1:8080"
    # The key that seals the portal's session cookies (32 url-safe base64 bytes, as
    # `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"` prints):
    # from the environment (CHAPERONE_WEB__SESSION_KEY) or session_key_file. Unset: one the relay makes
    # and keeps in data_dir. Every instance behind one address needs the same key.
    session_key: SecretStr | None = None
    session_key_file: Path | None = None
    session_hours: float = Field(default=8.0, gt=0, le=24 * 14)  # a sign-in lasts this long
    # Where people reach the portal, for the links in guardians' invitations.
    public_url: str = "http://127.0.0.1:8080"
    invitation_hours: float = Field(default=72.0, gt=0, le=24 * 30)  # an invitation link works this long
    # Cookies are sent only over HTTPS. Set false only for development on plain HTTP off loopback.
    secure_cookies: bool = True

    def secret_session_key(self) -> str | None:
        return secret(self.session_key, self.session_key_file)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        return listen_address(value)


class Dkim(Section):
    selector: str | None = None  # signing is on when selector, domain and key_file are all set
    domain: str | None = None
    key_file: Path | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.selector and self.domain and self.key_file)


class Logging(Section):
    format: Literal["json", "console"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Policy(Section):
    pack: str = "default"  # or the path to a district's own TOML
    # School closures (quiet hours skip them): a file of dates, one per line (YYYY-MM-DD, # comments,
    # or YYYY-MM-DD..YYYY-MM-DD ranges), and/or a country (and subdivision) for the `holidays` package.
    calendar: Path | None = None
    public_holidays: str | None = None  # e.g. "US" or "US-IL"; none by default
    # Written media consent: CSV with a studentSourcedId column (and optional granted column, yes/no).
    media_consent: Path | None = None
    review_url: str = "https://relay.nusd.example.org/review"  # linked from alerts to held messages
    # Reading and deciding a message larger than a small one happens off the event loop; one that cannot
    # be decided within this many seconds is held for review (fail closed), never delivered unread.
    decide_seconds: float = Field(default=10.0, gt=0, le=600)


class Settings(BaseSettings):
    """The whole configuration. Sections mirror deploy/chaperone.example.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("chaperone-data")
    district: District = District()
    roster: Roster = Roster()
    archive: Archive = Archive()
    smtp: Smtp = Smtp()
    fanout: Fanout = Fanout()
    delivery: Delivery = Delivery()
    dkim: Dkim = Dkim()
    sms: Sms = Sms()
    web: Web = Web()
    logging: Logging = Logging()
    policy: Policy = Policy()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; the file beats the defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def is_staff_address(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return domain in self.district.staff_domains


def load_settings(path: Path | str | None = None) -> Settings:
    """Load from ``path`` (else $CHAPERONE_CONFIG, else defaults) and the environment."""
    if path is None and os.environ.get("CHAPERONE_CONFIG"):
        path = os.environ["CHAPERONE_CONFIG"]
    toml_path = Path(path) if path is not None else None
    raw: dict[str, Any] = {}
    if toml_path is not None:
        raw = _read_toml(toml_path)
        _refuse_secrets_in_file(toml_path, raw)

    class FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml_path)

    try:
        return FromFile()
    except ValidationError as exc:
        raise ConfigError(_explain(exc, toml_path, raw)) from None
    except SettingsError as exc:  # an environment value pydantic-settings could not even parse
        raise ConfigError(_explain_environment(exc)) from None


def _explain_environment(exc: SettingsError) -> str:
    """One line naming the variable: a list or table set in the environment must be JSON."""
    for name, value in sorted(os.environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name[len(ENV_PREFIX) :]:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        section_field = Settings.model_fields.get(section)
        model = getattr(section_field, "annotation", None)
        key_field = getattr(model, "model_fields", {}).get(key)
        if key_field is None or get_origin(key_field.annotation) not in (list, tuple, set, frozenset, dict):
            continue
        try:
            json.loads(value)
        except ValueError:
            return (
                f"environment {name}: {section}.{key}: a list must be written as JSON, "
                f"e.g. {name}='[\"nusd.example.org\"]'"
            )
    return f"environment: {exc}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _refuse_secrets_in_file(path: Path, raw: dict[str, Any]) -> None:
    for section, key in sorted(SECRET_KEYS):
        if key in raw.get(section, {}):
            line = _line_of(path, (section, key))
            env = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            raise ConfigError(
                f"{path}:{line}: [{section}] {key}: secrets do not belong in the config file; "
                f"set {env} or name a file with {key}_file"
            )


def _explain(exc: ValidationError, path: Path | None, raw: dict[str, Any]) -> str:
    error = exc.errors()[0]
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    in_file = path is not None and _lookup(raw, loc)
    if in_file and path is not None:
        return f"{path}:{_line_of(path, loc)}: {key}: {message}"
    env = ENV_PREFIX + "__".join(part.upper() for part in loc)
    if env in os.environ:
        return f"environment {env}: {key}: {message}"
    return f"{path or 'config'}: {key}: {message}"


def _lookup(raw: dict[str, Any], loc: tuple[str, ...]) -> bool:
    node: Any = raw
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _line_of(path: Path, loc: tuple[str, ...]) -> int:
    """The line where ``loc`` is set; tomllib keeps no positions, so find the table then the key."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    *tables, key = loc
    table = ".".join(tables)
    current = ""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1)
            continue
        if current == table and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
        if not table and not current and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return 1


def masked(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, with every secret masked."""
    shown = settings.model_dump(mode="json")  # SecretStr dumps as '**********'
    shown["archive"]["url"] = redacted(settings.archive.url)
    return shown
