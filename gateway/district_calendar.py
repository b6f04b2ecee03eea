"""The district's records the policy engine reads but must not fetch itself: school closures and media
consent. Loaded once at start from the files the config names; errors name the file and line."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import holidays

from gateway.config import ConfigError, Settings
from gateway.directory import Directory
from policies.context import Context, DistrictFacts


def closed_days(settings: Settings, today: date) -> frozenset[date]:
    days: set[date] = set()
    if settings.policy.calendar is not None:
        days |= read_calendar(settings.policy.calendar)
    if settings.policy.public_holidays:
        country, _, subdivision = settings.policy.public_holidays.partition("-")
        try:
            public = holidays.country_holidays(
                country, subdiv=subdivision or None, years=range(today.year - 1, today.year + 3)
            )
        except NotImplementedError as exc:
            raise ConfigError(f"[policy] public_holidays: {exc}") from None
        days |= set(public)
    return frozenset(days)


def read_calendar(path: Path) -> set[date]:
    """One closure per line: YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, then an optional note; # comments."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the district calendar: {exc.strerror}") from None
    days: set[date] = set()
    for number, line in enumerate(lines, start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        span = entry.split()[0]
        first, _, last = span.partition("..")
        try:
            start = date.fromisoformat(first)
            end = date.fromisoformat(last) if last else start
        except ValueError:
            raise ConfigError(
                f"{path}:{number}: {span!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
            ) from None
        if end < start:
            raise ConfigError(f"{path}:{number}: the range ends before it starts")
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return days


def read_media_consent(path: Path) -> frozenset[str]:
    """Students whose guardians gave written consent to images: a CSV with a studentSourcedId column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read media consent records: {exc.strerror}") from None
    if rows and "studentSourcedId" not in rows[0]:
        raise ConfigError(f"{path}:1: media consent needs a studentSourcedId column")
    granted = set()
    for row in rows:
        if (row.get("granted") or "yes").strip().lower() in ("yes", "y", "true", "1"):
            granted.add((row.get("studentSourcedId") or "").strip())
    return frozenset(granted - {""})


def policy_context(settings: Settings, directory: Directory, today: date) -> Context:
    district = settings.district
    return Context(
        roster=directory,
        timezone=district.zone,
        district=DistrictFacts(
            staff_domains=tuple(district.staff_domains),
            official_numbers=tuple(district.official_numbers),
            official_accounts=tuple(district.official_accounts),
            official_services=tuple(district.official_services),
        ),
        closed_days=closed_days(settings, today),
        media_consent=(
            read_media_consent(settings.policy.media_consent)
            if settings.policy.media_consent
            else frozenset()
        ),
    )
