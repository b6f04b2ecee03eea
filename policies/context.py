"""Everything a rule may know besides the message: the roster, the district's clock rules and records.

Passed in by the caller, never fetched: the engine reads no files and no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from policies.parties import Roster


@dataclass(frozen=True, slots=True)
class DistrictFacts:
    staff_domains: tuple[str, ...] = ()  # e.g. ("nusd.example.org",)
    official_numbers: tuple[str, ...] = ()  # E.164 district lines that are not personal channels
    official_accounts: tuple[str, ...] = ()  # "@NorthfieldHS", "facebook.com/LakeviewMiddleNUSD"
    official_services: tuple[str, ...] = ()  # "Canvas", "NUSD Connect": approved platforms
    relay_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    roster: Roster
    timezone: ZoneInfo
    district: DistrictFacts = DistrictFacts()
    closed_days: frozenset[date] = frozenset()  # school holidays from the calendar file + `holidays`
    media_consent: frozenset[str] = field(default_factory=frozenset)  # students with written consent
