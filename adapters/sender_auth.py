"""Who a reply on port 25 is from: SPF, DKIM and DMARC alignment of its From: domain.

Port 25 offers no AUTH, so a reply's envelope sender and From: are only claims: anyone holding a
conversation address can make them (a student writing as their mother). The evidence is what the
claimed domain publishes in DNS: its SPF record must permit the connecting server (RFC 7208), or the
message must carry a DKIM signature that verifies against the domain's key (RFC 6376); and the domain so
authenticated must align with the From: domain (DMARC, RFC 7489: relaxed, by organizational domain,
unless the domain's DMARC record asks for strict). A reply whose From: domain is not aligned is held for
review by the policy (``policies/rules/sender_alignment.py``); this module only finds out and says so.

DKIM is dkimpy's, SPF is pyspf's (the reference implementation of RFC 7208), and organizational domains
come from the Public Suffix List that publicsuffixlist ships. Every lookup of one message goes through one
``Dns`` callable under one time budget: the relay's asks a resolver through dnspython, tests pass a table.
The checks block (DNS, RSA), so ``SenderVerifier.verify`` runs them in a worker thread with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import dkim
import dns.exception
import dns.rdatatype
import dns.resolver
import spf
import structlog
from publicsuffixlist import PublicSuffixList

from gateway.config import Smtp
from gateway.headers import HeaderBlock, addresses_in, decoded_words

log = structlog.get_logger("adapters.sender_auth")

_MAX_SIGNATURES = 5  # DKIM signatures checked per message: each costs a lookup and an RSA verification
_GRACE_SECONDS = 1.0  # beyond the DNS budget, for the thread to finish the checks that need no DNS


class DnsFailure(Exception):
    """No answer (timeout, SERVFAIL, no resolver configured): the result is temperror, never fail."""


class Dns(Protocol):
    def __call__(self, name: str, rdtype: str, timeout: float) -> list[str]:
        """The records of one type at ``name`` as text: a TXT record's strings joined (Latin-1, so that
        any bytes survive), an MX as "preference exchange", an A or AAAA as the address. [] when there
        are none (NXDOMAIN, no data); DnsFailure when there is no answer within ``timeout`` seconds."""
        ...


@dataclass(frozen=True, slots=True)
class SenderAuth:
    """What DNS says about a reply's sender; archived with the message, and read by the policy."""

    from_domain: str  # the domain of the From: address ("" when there is not exactly one)
    spf: str  # RFC 7208: pass | fail | softfail | neutral | none | permerror | temperror
    spf_domain: str  # the MAIL FROM domain SPF was checked for (the HELO name for an empty MAIL FROM)
    dkim: str  # pass (a signature verified) | fail | none (no signature) | temperror
    dkim_domains: tuple[str, ...]  # the d= of every signature that verified
    dmarc: str  # RFC 7489: pass | fail (a record, not aligned) | none (no record) | temperror
    dmarc_policy: str | None  # the p= (or sp=) that applies to the From: domain, when it has a record
    aligned: bool  # the From: domain is authenticated by a passing SPF or DKIM domain that aligns
    details: tuple[str, ...] = ()  # what a reviewer reads: why each check came out as it did

    def to_json(self) -> dict[str, Any]:
        return {
            "from_domain": self.from_domain,
            "spf": self.spf,
            "spf_domain": self.spf_domain,
            "dkim": self.dkim,
            "dkim_domains": list(self.dkim_domains),
            "dmarc": self.dmarc,
            "dmarc_policy": self.dmarc_policy,
            "aligned": self.aligned,
            "details": list(self.details),
        }


class ResolverDns:
    """The relay's DNS: dnspython asking the system's resolvers, or the one ``[smtp]`` names."""

    def __init__(self, nameserver: tuple[str, int] | None = None) -> None:
        self.nameserver = nameserver
        self._resolver: dns.resolver.Resolver | None = None

    def __call__(self, name: str, rdtype: str, timeout: float) -> list[str]:
        try:
            answer = self._get().resolve(
                name, rdtype, lifetime=timeout, search=False, raise_on_no_answer=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:  # a timeout, SERVFAIL everywhere, no resolver at all
            raise DnsFailure(f"{name} {rdtype}: {type(exc).__name__}") from None
        return [_record_text(rdata) for rdata in answer.rrset or ()]

    def _get(self) -> dns.resolver.Resolver:
        # Built at the first lookup, not at start: a host without resolv.conf still starts, and its
        # lookups fail as temperror (held), which a reviewer sees.
        if self._resolver is None:
            if self.nameserver is None:
                self._resolver = dns.resolver.Resolver()
            else:
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [self.nameserver[0]]
                resolver.port = self.nameserver[1]
                self._resolver = resolver
        return self._resolver


def _record_text(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("latin-1")
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if rdata.rdtype in (dns.rdatatype.PTR, dns.rdatatype.CNAME):
        return str(rdata.target.to_text(omit_final_dot=True))
    return str(rdata.to_text())


class SenderVerifier:
    """Checks one reply's sender against DNS: the relay builds one from ``[smtp]``, tests give a table."""

    def __init__(self, dns: Dns, *, seconds: float = 10.0) -> None:
        self.dns = dns
        self.seconds = seconds

    @classmethod
    def from_settings(cls, smtp: Smtp) -> SenderVerifier | None:
        """The relay's verifier, or None where ``[smtp] verify_inbound_senders`` is off."""
        if not smtp.verify_inbound_senders:
            return None
        return cls(ResolverDns(smtp.inbound_nameserver), seconds=smtp.inbound_dns_timeout)

    async def verify(self, raw: bytes, *, client_ip: str, helo: str, mail_from: str) -> SenderAuth:
        """Check off the event loop. Every lookup stops at the budget; the deadline here only guards
        against a lookup that does not (the thread runs on, its answer unused)."""
        try:
            async with asyncio.timeout(self.seconds + _GRACE_SECONDS):
                return await asyncio.to_thread(
                    self.check, raw, client_ip=client_ip, helo=helo, mail_from=mail_from
                )
        except TimeoutError:
            log.warning("sender not verified in time", seconds=self.seconds)
            return _unverified(f"not verified within {self.seconds:g} s")
        except Exception as exc:  # a bug or a library's surprise must not cost the reply: it is held
            log.exception("sender verification failed")
            return _unverified(f"verification failed: {type(exc).__name__}")

    def check(self, raw: bytes, *, client_ip: str, helo: str, mail_from: str) -> SenderAuth:
        """The same, blocking."""
        lookups = _Budget(self.dns, self.seconds)
        headers = HeaderBlock.of(raw)
        from_domain = _from_domain(headers)
        spf_result, spf_domain, spf_note = _spf(lookups, client_ip=client_ip, helo=helo, mail_from=mail_from)
        dkim_result, dkim_domains, dkim_notes = _dkim(lookups, raw, headers)
        policy, policy_unknown, policy_note = _dmarc_lookup(lookups, from_domain)
        passing_spf_domain = spf_domain if spf_result == "pass" else ""
        aligned = _authenticated(from_domain, policy, passing_spf_domain, dkim_domains)
        dmarc = _dmarc_result(
            aligned=aligned,
            policy=policy,
            policy_unknown=policy_unknown,
            unanswered="temperror" in (spf_result, dkim_result),
        )
        spf_line = f"spf {spf_result} for {spf_domain or '(no domain)'} from {client_ip}: {spf_note}"
        return SenderAuth(
            from_domain=from_domain,
            spf=spf_result,
            spf_domain=spf_domain,
            dkim=dkim_result,
            dkim_domains=dkim_domains,
            dmarc=dmarc,
            dmarc_policy=None if policy is None else policy.applied,
            aligned=aligned,
            details=(spf_line, *dkim_notes, policy_note),
        )


def _unverified(why: str) -> SenderAuth:
    """No verdict at all: temperror everywhere, not aligned, so the reply is held and a person looks."""
    return SenderAuth("", "temperror", "", "temperror", (), "temperror", None, False, (why,))


class _Budget:
    """One message's lookups share its time budget: ten SPF includes cannot take ten timeouts."""

    def __init__(self, dns: Dns, seconds: float) -> None:
        self.dns = dns
        self.deadline = time.monotonic() + seconds

    def __call__(self, name: str, rdtype: str, timeout: float | None = None) -> list[str]:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DnsFailure(f"{name} {rdtype}: out of time")
        return self.dns(name.rstrip(".").lower(), rdtype, left if timeout is None else min(timeout, left))


def _from_domain(headers: HeaderBlock) -> str:
    """The From: domain, read as the pipeline's author check reads it (encoded words decoded)."""
    froms = headers.values("From")
    authors = addresses_in(decoded_words(froms[0])) if len(froms) == 1 else []
    return authors[0].rpartition("@")[2] if len(authors) == 1 else ""


# --- SPF (pyspf) ---------------------------------------------------------------------------------------
# pyspf looks every name up through its module's ``DNSLookup``, the hook it sets itself to pydns or
# dnspython at import. Ours hands the lookups of the check running in this context to that check's
# budget, and anyone else's to pyspf's own.
_SPF_LOOKUPS: ContextVar[_Budget | None] = ContextVar("spf_lookups", default=None)
_PYSPF_LOOKUP = spf.DNSLookup


def _spf_lookup(name: str, qtype: str, strict: object = True, timeout: float = 20.0) -> list[Any]:
    lookups = _SPF_LOOKUPS.get()
    if lookups is None:
        return list(_PYSPF_LOOKUP(name, qtype, strict, timeout))
    try:
        records = lookups(name, qtype, timeout)
    except DnsFailure as exc:
        raise spf.TempError(f"DNS {exc}") from None
    return [((name, qtype), _spf_value(qtype, record)) for record in records]


def _spf_value(qtype: str, record: str) -> Any:
    """A record as pyspf's own lookups give it: TXT as a list of byte strings, MX as a pair."""
    if qtype in ("TXT", "SPF"):
        return [record.encode("latin-1")]
    if qtype == "MX":
        preference, _, exchange = record.partition(" ")
        return (int(preference), exchange)
    return record


spf.DNSLookup = _spf_lookup


def _spf(lookups: _Budget, *, client_ip: str, helo: str, mail_from: str) -> tuple[str, str, str]:
    """(result, the domain checked, pyspf's explanation)."""
    domain = mail_from.rpartition("@")[2].lower() if mail_from else helo.lower()
    if not domain:
        return "none", "", "no MAIL FROM domain and no HELO name"
    token = _SPF_LOOKUPS.set(lookups)
    try:
        left = max(lookups.deadline - time.monotonic(), 0.1)
        query = spf.query(i=client_ip, s=mail_from, h=helo, timeout=left)
        result, _, explanation = query.check()
    except Exception as exc:  # pyspf refusing its input (an IP it cannot parse): nothing passes
        return "permerror", domain, f"{type(exc).__name__}: {exc}"
    finally:
        _SPF_LOOKUPS.reset(token)
    return str(result), domain, str(explanation)


# --- DKIM (dkimpy) --------------------------------------------------------------------------------------


def _dkim(lookups: _Budget, raw: bytes, headers: HeaderBlock) -> tuple[str, tuple[str, ...], list[str]]:
    """(result, the d= of each signature that verified, notes). Every signature is tried, not only the
    first: a forwarder's or a list's signature may come before the author's domain's."""
    count = len(headers.values("DKIM-Signature"))
    if count == 0:
        return "none", (), ["dkim: no signature"]

    def txt(name: bytes, timeout: float = 5.0) -> bytes | None:
        records = lookups(name.decode("ascii", "replace"), "TXT", timeout)
        return records[0].encode("latin-1") if records else None

    passed: list[str] = []
    notes: list[str] = []
    unanswered = False
    for index in range(min(count, _MAX_SIGNATURES)):
        try:
            signature = dkim.DKIM(raw)
            valid = signature.verify(idx=index, dnsfunc=txt)
        except DnsFailure as exc:  # ours, raised through dkimpy: no key, no verdict
            unanswered = True
            notes.append(f"dkim signature {index + 1}: no answer for its key: {exc}")
            continue
        except Exception as exc:  # a malformed signature or key: that signature fails
            notes.append(f"dkim signature {index + 1}: {type(exc).__name__}: {exc}")
            continue
        domain = (getattr(signature, "domain", None) or b"").decode("ascii", "replace").lower()
        if valid:
            passed.append(domain)
        notes.append(f"dkim signature {index + 1} d={domain}: {'verified' if valid else 'did not verify'}")
    result = "pass" if passed else "temperror" if unanswered else "fail"
    return result, tuple(passed), notes


# --- DMARC (RFC 7489) -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Policy:
    domain: str  # where the record was found: the From: domain or its organizational domain
    tags: dict[str, str]
    applied: str  # p=, or sp= for a subdomain covered by its organizational domain's record

    def strict(self, tag: str) -> bool:
        return self.tags.get(tag) == "s"


def _dmarc_lookup(lookups: _Budget, from_domain: str) -> tuple[_Policy | None, bool, str]:
    """(the policy or None, whether DNS left it unknown, a note for the reviewer)."""
    if not from_domain:
        return None, False, "dmarc: no single From: address to align with"
    try:
        policy = _dmarc_policy(lookups, from_domain)
    except DnsFailure as exc:
        return None, True, f"dmarc: no answer: {exc}"
    if policy is None:
        return None, False, f"dmarc: no record for {from_domain}"
    return policy, False, f"dmarc record at _dmarc.{policy.domain}: p={policy.applied}"


def _dmarc_policy(lookups: _Budget, from_domain: str) -> _Policy | None:
    """The From: domain's DMARC record, else its organizational domain's (RFC 7489 section 6.6.3)."""
    organizational = organizational_domain(from_domain)
    for domain in dict.fromkeys((from_domain, organizational)):
        records = [r for r in lookups(f"_dmarc.{domain}", "TXT") if r.strip().lower().startswith("v=dmarc1")]
        if len(records) != 1:  # none, or several (which RFC 7489 says to treat as none)
            continue
        tags = _tags(records[0])
        applied = tags.get("p", "none")
        if domain != from_domain:
            applied = tags.get("sp", applied)
        return _Policy(domain, tags, applied)
    return None


def _tags(record: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in record.split(";"))
    return {name.strip().lower(): value.strip().lower() for name, _, value in pairs if name.strip()}


def _dmarc_result(*, aligned: bool, policy: _Policy | None, policy_unknown: bool, unanswered: bool) -> str:
    if policy_unknown:
        return "temperror"
    if aligned:
        return "pass" if policy is not None else "none"
    if unanswered:
        return "temperror"
    return "fail" if policy is not None else "none"


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list the package ships: nothing is fetched at run time


def organizational_domain(domain: str) -> str:
    """The registered domain ("mail.example.co.uk" → "example.co.uk"); a public suffix is its own."""
    domain = domain.rstrip(".").lower()
    return _suffixes().privatesuffix(domain) or domain


def _authenticated(
    from_domain: str, policy: _Policy | None, spf_domain: str, dkim_domains: tuple[str, ...]
) -> bool:
    """Whether a passing SPF domain or DKIM d= aligns with the From: domain: relaxed (the same
    organizational domain) unless the domain's DMARC record asks for strict (adkim=s, aspf=s)."""
    strict_dkim = policy is not None and policy.strict("adkim")
    strict_spf = policy is not None and policy.strict("aspf")
    by_dkim = any(_aligned(from_domain, domain, strict=strict_dkim) for domain in dkim_domains)
    return by_dkim or _aligned(from_domain, spf_domain, strict=strict_spf)


def _aligned(from_domain: str, other: str, *, strict: bool) -> bool:
    if not from_domain or not other:
        return False
    if strict:
        return from_domain == other.lower()
    return organizational_domain(from_domain) == organizational_domain(other)
