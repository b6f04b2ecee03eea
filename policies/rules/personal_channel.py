"""Personal channels in a message's content: a staff member moving a student or family off the district's
channels, to a personal phone or e-mail, a social-media account, DMs or an app.

Evidence: a phone number (found with ``phonenumbers``) that is not one of the district's official or relay
numbers; an e-mail address outside the staff domains (a consumer service such as Gmail always counts,
another domain when offered as the sender's own); a handle or profile link that is not an official
account; an invitation ("add me on Snapchat", "follow me", "friend me", "DM me", "text my cell",
"escríbame a mi WhatsApp", "RSVP to this email, not the school one"). The district's own numbers,
addresses, official accounts and approved services (``context.district``) never count, nor does an
organisation's number ("call the county health department at ..."), nor an invitation turned down ("please
don't text my cell", "no doy mi WhatsApp a los alumnos").
Only staff and unregistered senders are checked: a parent giving a teacher their own number is ordinary.
Seeds 002, 003, 004: keep personal and professional channels separate; no personal accounts with students.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import phonenumbers
from pydantic import BaseModel

from policies.context import Context, DistrictFacts
from policies.decision import Severity
from policies.lexicon import tagged, terms
from policies.message import Message
from policies.parties import Role
from policies.patterns import Found, Phrases, compile_pattern, distinct, evidence_hit, find, phrase
from policies.rules import Hit
from policies.rules.channel_evasions import (
    app_invitations,
    bare_handles,
    spelled_addresses,
    spelled_numbers,
)
from policies.text import NormalText, fold, normalise

_SEVEN_DIGITS = re.compile(r"\d(?:[\s().\-]{0,3}\d){6,}")
_LOCAL_NUMBER = re.compile(r"(?<![\d-])\d{3}[-.]\d{4}(?![\d-])")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
# An address is found at its "@" and read back to the start of its local part (a regex that starts with
# the local part retries it at every letter of the message).
_AT_DOMAIN = re.compile(r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_LOCAL_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
_HANDLE = re.compile(r"(?<![\w@./])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)")
# Profile links, read in the folded (lower-case) text; a scheme or "www." before them is not evidence.
_LINK = re.compile(
    r"(?<![\w.])(?:discord\.gg|discord\.com/invite|instagram\.com|tiktok\.com|snapchat\.com|facebook\.com"
    r"|fb\.com|fb\.me|twitter\.com|x\.com|wa\.me|t\.me|chat\.whatsapp\.com|linktr\.ee|youtube\.com|twitch\.tv"
    r"|venmo\.com|cash\.app|m\.me|groupme\.com|signal\.me|snapchat\.com/add|kik\.me)/[\w.@/%-]*[\w@]"
)
# Right before an invitation, a refusal of it: "please don't text my cell", "no doy mi WhatsApp".
_DECLINED = re.compile(
    r"(?<![a-z])(?:don'?t|do not|never|won'?t|will not|can'?t|cannot|no|nunca)(?: (?:give out|give|share"
    r"|hand out|use|accept|doy|damos|comparto|uso|acepto|me|nos|le|les|los|las))?(?: (?:escriban|escriba"
    r"|manden|mande|llamen|llame|agreguen|sigan))? $"
)
# Words that make a number someone's own, or an organisation's.
_PERSONAL_CUE = compile_pattern(
    r"my|me|personal|cell|mobile|real|private|home|direct|new number|mi|celular|cel|whatsapp|signal|telegram"
    r"|text me|call me|llameme|llamame|escribame|escribeme|mandeme|mandame"
)
_ORGANISATION_CUE = compile_pattern(
    r"office|line|department|dept|hotline|helpline|clinic|desk|center|centre|main|front|attendance|county"
    r"|sheriff|police|nurse|district|school|services|agency|oficina|linea|departamento|escuela|clinica|centro"
    r"|distrito|hospital|pharmacy|farmacia|poison|crisis|lifeline"
)
# An account worded as the school's own (seed 004: the school-approved page), not a staff member's.
_SCHOOLS_OWN = compile_pattern(
    r"official|school'?s|district'?s|our school|the school|team'?s official|de la escuela|oficial"
    r"|del distrito"
)
_PERSONAL_ACCOUNT = compile_pattern(r"my|mi|personal|private|privado|privada")
_CONTACT_VERB = compile_pattern(
    r"follow|add|dm|dms|message|msg|pm|find me|reach me|text me|hit me up|friend|sigueme|sigame|agregame"
    r"|agregueme|buscame|busqueme|escribeme|escribame"
)


@dataclass(frozen=True, slots=True)
class _Official:
    numbers: frozenset[str]
    domains: tuple[str, ...]
    accounts: frozenset[str]
    services: frozenset[str]

    def is_official_domain(self, domain: str) -> bool:
        domain = domain.lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


def _account_key(account: str) -> str:
    """'@NorthfieldHS' -> 'northfieldhs'; 'https://www.facebook.com/X/' -> 'facebook.com/x'."""
    key = account.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return key.lstrip("@").rstrip("/")


@cache
def _official(district: DistrictFacts) -> _Official:
    accounts = {_account_key(a) for a in district.official_accounts}
    accounts |= {a.rsplit("/", 1)[-1] for a in accounts if "/" in a}  # a page's name is its handle too
    return _Official(
        numbers=frozenset(district.official_numbers) | frozenset(district.relay_numbers),
        domains=tuple(d.lower() for d in district.staff_domains),
        accounts=frozenset(accounts),
        services=frozenset(fold(s).text for s in district.official_services),
    )


@cache
def _platforms() -> tuple[frozenset[str], str]:
    """The messaging apps and social networks, and an alternation of those never used as everyday words."""
    names = tagged("platforms")
    plain = sorted((t.text for t in names if "weak" not in t.tags), key=len, reverse=True)
    return frozenset(t.text for t in names), "|".join(re.escape(p).replace(r"\ ", " ") for p in plain)


@cache
def _phrases() -> Phrases:
    _, platform = _platforms()
    platform_words = " ".join(w for p in terms("platforms") for w in p.split())
    named_platforms = platform.replace("\\", "").replace("|", " ")  # the words of the regex alternation
    return Phrases(
        phrase(
            "invitation to a personal account",
            r"(?:add|follow|friend|dm|message|msg|pm|text|hit me up|find|reach|contact|chat with|talk to|ping"
            r"|call|write|catch|join|sub(?:scribe)? to|connect with|video ?call|facetime) (?:me |us )?(?:on"
            r"|at"
            rf"|via|thru|through|in|over) (?:my )?(?:{platform})",
            named_platforms,
        ),
        phrase(
            "invitation to a personal account",
            rf"(?:my|our) (?:personal |private |own )?(?:{platform})(?: handle| username| user name| name| id"
            r"| account| page| server| channel)? ?(?:is|:|=|->|at|@)",
            named_platforms,
            "my our",
        ),
        phrase(
            "invitation to a personal account",
            rf"(?:{platform}|snap|signal)(?: handle| username| user name| id)? ?(?::|@|is @"
            r"|at) ?@?[a-z0-9_.]*[0-9_.][a-z0-9_.]*",
            platform_words + " snap signal",
        ),
        phrase(
            "invitation to a personal account",
            r"(?:snap|dm|pm|whatsapp|insta|facetime|kik|venmo|inbox) (?:me|us)(?![a-z])|friend me"
            r"|friend request|(?:keep|let'?s keep|continue|let'?s continue|let'?s) (?:chatting|talking"
            r"|texting|messaging|this)"
            rf" (?:on|over|in|via) (?:{platform}|snap|text)"
            r"|(?:add|follow|hit) (?:me|us) (?:up )?on (?:snap|sc|signal|face|whats)"
            rf"|(?:{platform}) (?:me|us)(?![a-z])|(?:{platform}|snap|text|message|dm|call|ping|hit) (?:me"
            rf"|us) (?:up )?(?:at|on|@) @?[a-z0-9_.]*"
            r"[0-9_.][a-z0-9_.]*|(?:made|created|started|set up|opened) (?:a|an|our"
            r"|the) (?:team )?(?:group ?chat|group|server|chat"
            rf"|page|account) (?:on|in) (?:{platform})"
            r"|slide into (?:my|the) dms|my dms",
            "snap dm pm whatsapp insta facetime kik venmo inbox friend slide dms sc signal face whats "
            + named_platforms,
        ),
        phrase(
            "moving contact to a personal phone or e-mail",
            r"(?:text|txt|call|reach|contact|email|e-mail|message|write|find|dm|ping|get (?:a )?hold of"
            r"|get in touch with|use|try) (?:me )?(?:on|at|via|through|to|using)? ?my (?:personal|private"
            r"|real|own|other|home|cell|mobile|actual|regular|normal)(?: (?:cell|phone|number|email|e-mail"
            r"|account|address|line|gmail|insta|snap))?",
            "personal private real own other home cell mobile actual regular normal",
            "my",
        ),
        phrase(
            "moving contact to a personal phone or e-mail",
            r"my (?:personal|private|home|real|own) (?:email|e-mail|address|account|number|cell|phone|gmail"
            r"|line)(?: address| number)? (?:is|:)|my (?:personal|private) (?:page|profile|instagram|insta"
            r"|tiktok|snap|snapchat|server|channel|facebook|discord|account,? so)",
            "personal private home real own",
            "my",
        ),
        phrase(
            "moving contact off the district's channels",
            r"instead of (?:the |my |our |this )?(?:school|district|work|relay|official"
            r"|class)(?:'s)? (?:number|email|e-mail|account|system|app|one|phone|line|address|texting system"
            r"|texting app|portal)|(?:text|call|message|reach|contact) me (?:here|at this number"
            r"|on this number) (?:from now on|instead|going forward)|use (?:this|that|my) (?:one|number|email"
            r"|address|account) (?:from now on|instead|going forward)|(?:move|take|continue|switch) (?:this"
            r"|our|the) (?:conversation|chat|convo|talk|discussion) (?:to|over to|onto) (?:text|texting"
            r"|my phone|my cell|snap|insta|whatsapp|dms|private|discord)|my (?:cell|number"
            r"|phone)(?: number)? (?:is|'s) (?:already )?in (?:your|ur) (?:phone|contacts)",
            "instead forward conversation chat convo discussion contacts",
        ),
        phrase(
            "moving contact off the district's channels",
            r"not (?:the|my|through the|on the|via the) (?:school|district|work) (?:one|email|e-mail|number"
            r"|account|system|app|address)|(?:text|call|message|reach|contact) me (?:here|at this number"
            r"|on this number) from now on|use (?:this|that|my) (?:one|number|email|address"
            r"|account) from now on",
            "not now",
            "school district work here use",
        ),
        phrase(
            "invitation to a personal account",
            r"join (?:my|our|the team|the) (?:discord|server|group ?chat|snap group|whatsapp group|groupme"
            r"|telegram|insta|instagram)",
            "discord server chat groupchat groupme telegram insta instagram",
        ),
        phrase(
            "moving contact to a personal phone or e-mail",
            r"(?:escribame|escribeme|mandeme|mandame|marqueme|marcame|llameme|llamame|contacteme|contactame"
            r"|agregueme|agregame|sigame|sigueme|hableme|hablame|texteame|mensajeame|whatsappeame|busqueme"
            r"|buscame)(?: (?:un )?(?:mensaje|whats|texto))? (?:a|al|en|por|por el|por mi)(?: mi)? (?:celular"
            r"|cel|whatsapp|whats|wasap|insta|instagram|numero personal|correo personal|face|facebook|tiktok"
            r"|snap|telegram|privado|inbox|dm)|(?:mi|a mi|al|por mi) (?:celular|cel|whatsapp|whats"
            r"|wasap)(?: personal)?|mi (?:numero|correo|telefono) (?:personal|privado|de casa)|por (?:privado"
            r"|interno|inbox|dm)|mensaje directo",
            "escribame escribeme mandeme mandame marqueme marcame llameme llamame contacteme contactame"
            " agregueme"
            " agregame sigame sigueme hableme hablame texteame mensajeame whatsappeame busqueme buscame"
            " celular cel"
            " whatsapp whats wasap personal privado interno inbox directo",
        ),
    )


class PersonalChannelRule:
    id = "channel.personal_content"
    category = "personal_channel"
    description = (
        "A personal phone, e-mail, social-media account or DM invitation that is not the district's."
    )

    class Options(BaseModel):
        region: str = "US"  # how to read a phone number written without a country code

    def __init__(self, options: PersonalChannelRule.Options | None = None) -> None:
        self.options = options or PersonalChannelRule.Options()
        self._district: DistrictFacts | None = None
        self._facts = _official(DistrictFacts())

    def _official_for(self, district: DistrictFacts) -> _Official:
        """The district's own channels. A relay serves one district, so the last one is kept: hashing the
        district's facts on every message is not free."""
        if district is not self._district:
            self._district, self._facts = district, _official(district)
        return self._facts

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.sender.role in (Role.GUARDIAN, Role.STUDENT):
            return []
        if message.recipients and all(party.role is Role.STAFF for party in message.recipients):
            return []  # colleagues trading cell numbers: no student or family is moved anywhere
        text = normalise(message.text)
        official = self._official_for(context.district)
        found = [Found(f.label, *text.source(f.start, f.end)) for f in self._invitations(text, official)]
        found.extend(self._numbers(text, official))
        found.extend(self._addresses(text, official))
        found.extend(self._accounts(text, official))
        folded = text.folded.text
        evasions = [
            *spelled_numbers(folded, official.numbers),
            *spelled_addresses(folded),
            *app_invitations(folded),
            *bare_handles(folded, official.accounts),
        ]
        found.extend(Found(f.label, *text.folded.source(f.start, f.end)) for f in evasions)
        return [
            evidence_hit(self.category, f.label, text.original, f.start, f.end, Severity.MEDIUM)
            for f in distinct(found)
        ]

    @staticmethod
    def _invitations(text: NormalText, official: _Official) -> list[Found]:
        found = find(_phrases(), text)
        platforms, _ = _platforms()
        canonical = text.canonical.text
        kept = []
        for item in found:
            words = set(re.findall(r"[a-z]+", canonical[item.start : item.end]))
            if words & official.services and words & platforms:
                continue  # "message me on GroupMe" where the district approved GroupMe
            if _DECLINED.search(canonical, max(0, item.start - 40), item.start):
                continue  # "please don't text my cell", "no doy mi WhatsApp a los alumnos"
            kept.append(item)
        return kept

    def _numbers(self, text: NormalText, official: _Official) -> list[Found]:
        original = text.original
        candidates = [re.sub(r"\D", "", m.group()) for m in _SEVEN_DIGITS.finditer(text.folded.text)]
        if not candidates:
            return []
        found: list[Found] = []
        if any(not _is_official_digits(digits, official) for digits in candidates):
            found.extend(self._other_numbers(text, official))
        for match in _LOCAL_NUMBER.finditer(original):
            if _is_official_local(original, match, official):
                continue  # "call me at (202) 555-0100": the office's line, area code or not
            before = fold(original[max(0, match.start() - 40) : match.start()]).text
            if _PERSONAL_CUE.search(before) and not any(f.start <= match.start() < f.end for f in found):
                found.append(Found("a personal phone number", match.start(), match.end()))
        return found

    def _other_numbers(self, text: NormalText, official: _Official) -> list[Found]:
        """Numbers ``phonenumbers`` recognises that are neither the district's nor an organisation's."""
        original = text.original
        found: list[Found] = []
        # The matcher is slow on long texts: run it on a window around each run of digits.
        done = -1
        for run in _SEVEN_DIGITS.finditer(text.folded.text):
            start, end = text.folded.source(run.start(), run.end())
            begin = max(start - 8, done, 0)
            # A number split over lines is one number to a reader; phonenumbers stops at a line break.
            window = original[begin : end + 4].replace("\n", " ").replace("\r", " ")
            for match in phonenumbers.PhoneNumberMatcher(window, self.options.region):
                number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                if number in official.numbers or _SSN_SHAPE.fullmatch(match.raw_string):
                    continue
                if _belongs_to_organisation(text, begin + match.start):
                    continue
                found.append(Found("a personal phone number", begin + match.start, begin + match.end))
            done = end
        return found

    @staticmethod
    def _addresses(text: NormalText, official: _Official) -> list[Found]:
        original = text.original
        if "@" not in original:
            return []
        personal_domains = terms("personal-email-domains")
        found: list[Found] = []
        for match in _AT_DOMAIN.finditer(original):
            start = match.start()
            while start > 0 and original[start - 1] in _LOCAL_PART:
                start -= 1
            domain = match.group(1).lower()
            if start == match.start() or official.is_official_domain(domain):
                continue  # a handle, or the district's own address
            before = fold(original[max(0, start - 50) : start]).text
            if domain in personal_domains or _PERSONAL_CUE.search(before):
                found.append(Found("a personal e-mail address", start, match.end()))
        return found

    @staticmethod
    def _accounts(text: NormalText, official: _Official) -> list[Found]:
        original = text.original
        found: list[Found] = []
        folded = text.folded.text
        if "/" in folded:
            for match in _LINK.finditer(folded):
                key = _account_key(match.group())
                if key not in official.accounts and key.rsplit("/", 1)[-1] not in official.accounts:
                    start, end = text.folded.source(match.start(), match.end())
                    found.append(Found("a link to a personal profile", start, end))
        if "@" not in original:
            return found
        platforms, _ = _platforms()
        mentions_platform = not text.words.isdisjoint(platforms)
        for match in _HANDLE.finditer(original):
            if match.group(1).lower() in official.accounts:
                continue
            start, end = _sentence_around(text, match.start())
            sentence = fold(original[start:end]).text
            if _SCHOOLS_OWN.search(sentence) and not _PERSONAL_ACCOUNT.search(sentence):
                continue  # "the school's official athletics account, @..." even where none is configured
            if mentions_platform or _CONTACT_VERB.search(sentence):
                found.append(Found("a personal social-media handle", match.start(), match.end()))
        return found


def _is_official_local(original: str, match: re.Match[str], official: _Official) -> bool:
    """Whether a seven-digit number, read with the area code written before it if any, is the district's."""
    digits = re.sub(r"\D", "", original[max(0, match.start() - 8) : match.end()])
    tail = digits[-10:] if len(digits) >= 10 else digits[-7:]
    return any(number.endswith(tail) for number in official.numbers)


def _is_official_digits(digits: str, official: _Official) -> bool:
    """A cheap check that spares ``phonenumbers`` when every number written is the district's own."""
    return any(number.endswith(digits[-10:]) for number in official.numbers) if len(digits) >= 10 else False


def _sentence_around(text: NormalText, position: int) -> tuple[int, int]:
    """The sentence holding ``position`` (an offset into the original text), found by bisection: a walk
    over every sentence for each number made a long text of numbers quadratic."""
    return text.sentence_around_source(position)


def _belongs_to_organisation(text: NormalText, position: int) -> bool:
    """'the county health department at 312-...' is theirs; 'my cell, 773-...' is the sender's."""
    start, _ = _sentence_around(text, position)
    before = fold(text.original[max(start, position - 60) : position]).text
    personal = [m.end() for m in _PERSONAL_CUE.finditer(before)]
    organisation = [m.end() for m in _ORGANISATION_CUE.finditer(before)]
    if not organisation:
        return False
    return not personal or max(organisation) > max(personal)
