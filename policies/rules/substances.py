"""Substances: encouraging or normalising alcohol, drugs, vaping or other illegal activity.

A substance word (``wordlists/substances.txt``) is only evidence next to encouragement in the same
sentence: an offer or an imperative ("grab a few beers", "want a hit off my vape", "se fume un poquito de
mota"), normalising ("I honestly don't care, just don't get caught", "half the team does it") or a wink
("lol", a beer emoji). Prevention and health education never count (Red Ribbon Week, a nurse's talk on
vaping, la Semana del Listón Rojo, an ethanol lab). Words with an everyday meaning ("drinks", "pot",
"joint") need a party or a plainer substance word nearby, and alcohol counts only where young people are
involved (the drinking age is 21: an 18-year-old student included), so "drinks sometime?" between adults
is not this rule's business. Shoplifting and fake IDs are illegal activity.
Seed 001: no communication that encourages illegal activity, alcohol, or illegal drugs.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.lexicon import WordHit, hits_in
from policies.message import Message
from policies.parties import Role
from policies.patterns import Found, Phrases, compile_pattern, distinct, find, hit, phrase, search
from policies.rules import Hit
from policies.text import NormalText, normalise

_ENCOURAGING = compile_pattern(
    r"grab|grabbing|have a|have some|having (?:a|some)|bring|bringing|try|trying|take a|take some|get (?:some"
    r"|a|me|you|yourself|u|us)|go get|gonna get|smoke|smoking|drink up|crack (?:a|open|one)|pop (?:a|some|one"
    r"|a couple)|hit (?:off|of)|want (?:a|some|one)|need (?:a|one|some)|on me|my treat|i'?ll (?:buy|bring|get"
    r"|supply|hook)|hook (?:you|u|me) up|i got (?:you|some|u)|share|light up|chug|pregame|nothing wrong with"
    r"|no big deal|everyone does|half the team|whole team does|trust me|(?:don'?t|do not) (?:really )?care"
    r"|don'?t get caught|won'?t tell|it'?s (?:fine|ok|okay|cool|legal)|you (?:earned|deserve) it"
    r"|calms? (?:your|ur|the) nerves|takes? the edge off|help (?:yourself|yourselves)|in the (?:fridge"
    r"|cooler)|want me to (?:buy|get|grab|bring|pick up)|i know a guy|ask anyone|relax"
    r"|helps? (?:you )?(?:relax|focus|sleep|study|chill)|magic|works wonders|worked for me|i used to"
    r"|at your age|basically adults|for the kids|if you need|asking for a friend|(?:can|could) (?:get"
    r"|find) me|keep it (?:in|hidden|quiet)|sneak|sells?|selling|sold|cheap|if (?:anyone|you|u) (?:wants?"
    r"|needs?)|hook (?:you|u) up|nobody (?:actually )?(?:checks|will know|notices|cares)|lol|lmao|haha"
    r"|[😂🍺🍻🍷🥃🍾💨🌿🍁😉😜]"
    # Spanish
    r"|tomate|toma|fumate|fume|fumarse|fumese|fumes|pruebe|pruebala|trae|traigan|traiga|compra|comprate"
    r"|consigue|consigueme|un poquito|un par de|invito|yo pongo|corre por mi cuenta|no pasa nada"
    r"|nada del otro mundo|me funcionaba|me funciono|te relaja|le relaja|para relajarse|para los (?:chicos"
    r"|muchachos|ninos)|nadie se da cuenta|jaja|si quieres|si quiere|hazlo|hagalo|nadie (?:revisa|checa"
    r"|se da cuenta|te ve|se entera|dice nada)|if you want|take (?:one|a couple|a few)"
)
# What a follow-up sentence may add: "I honestly don't care, just don't get caught."
_NORMALISING = compile_pattern(
    r"(?:don'?t|do not) (?:really )?care|don'?t get caught|won'?t tell|no big deal|nothing wrong with"
    r"|everyone does|trust me|it'?s (?:fine|ok|okay|cool)|you (?:earned|deserve) it|no pasa nada"
    r"|nada del otro mundo"
)
# Right before the word: "a few beers", "a little weed", "a couple of Adderall".
_QUANTITY_BEFORE = compile_pattern(
    r"(?:a few|a couple(?: of)?|a little|a bit of|a lil|un poco de|unas|unos)\s*$"
)
_EDUCATION = compile_pattern(
    r"awareness|prevention|prevent|red ribbon|health class|health department|say no|risks?|dangers?|dangerous"
    r"|speakers? on|assembly on|talk (?:to|with) (?:him|her|them|your [a-z]+) about|hablar(?: con (?:el|ella"
    r"|ellos|su hij[oa]s?))? (?:del tema|sobre)|hablar con (?:el|ella|ellos|su hij[oa]s?) de"
    r"|safety|drug-free|free of|education|educational|policy|policies|prohibited|not allowed|banned"
    r"|against the rules|confiscated|consequences|suspension|suspended|detention|counselor|nurse"
    r"|talk with your child|talking with your child|effects|addiction|addictive|resist|peer pressure|lab"
    r"|reagent|experiment|avoid|quit|quitting|dejar de|contra las drogas|libres? de drogas|riesgos?"
    r"|prevencion|peligros?|concientizacion|campana|salud|liston rojo|hablen con sus hijos|prohibid[oa]"
    r"|presentation|presenters?|parent night|workshop|curriculum|lesson|display|naloxone|narcan"
    r"|anti|taller|charla|platica|presentacion|noche para padres"
)
# Sodas, not the drink: "root beer floats", "ginger beer".
_SODA_BEFORE = compile_pattern(r"(?:root|ginger) $")
_PARTY = compile_pattern(
    r"party|parties|my place|my house|after ?party|celebrate|celebration|bar|club|tailgate|kegger|fiesta"
    r"|pachanga|peda|festejo|festejar|[🍺🍻🍷🥃🍾]"
)
_YOUNG = compile_pattern(
    r"kids?|students?|players?|team|seniors|juniors|minors?|underage|teens?|teenagers?|boys|girls|your (?:son"
    r"|daughter|child|kid)|chicos|muchachos|ninos|hijos?|hija|estudiantes|alumnos|jugadores|equipo"
)

_PHRASES = Phrases(
    phrase(
        "encouraging getting drunk or high",
        r"(?:get|getting|got|go get|gonna get|let'?s get|going to get) (?:so |super |really "
        r"|totally )?(?:drunk|wasted|plastered|stoned|faded|crossfaded|buzzed|tipsy|turnt|blitzed"
        r"|blazed|sloshed|(?:high|hammered)(?=\s*(?:[.!?,😂]|$|tonight|together|with|before|after|and|lol))"
        r"|baked(?=\s*(?:[.!?,😂]|$|tonight|lol)))",
        "drunk wasted hammered plastered stoned faded crossfaded buzzed tipsy turnt blitzed blazed sloshed"
        " high baked",
    ),
    phrase(
        "encouraging underage drinking",
        r"(?:they|nobody|no one|the bartender|that place|the bouncer)(?: [a-z]+)? (?:don'?t|doesn'?t|won'?t"
        r"|never|dont) (?:card|check (?:id|ids))|(?:hit|hitting|go to|going to|come to|meet (?:us"
        r"|me) at) (?:the|a) (?:bar|club|liquor store)",
        "card check bar club liquor",
    ),
    phrase(
        "encouraging misuse of medication",
        r"(?:take|try|have|want|need|pop|borrow) (?:one of |a couple of |some of |a few of |one |a couple "
        r"|some )?(?:my|mine|these|those|his|her) (?:pain ?|sleeping |sleep |anxiety |prescription "
        r"|extra )?(?:pills|meds|medication|prescription|tablets|painkillers|adderall|xanax|percs|oxys)",
        "pills meds medication prescription tablets painkillers adderall xanax percs oxys",
    ),
    phrase(
        "encouraging drinking",
        r"(?:jello|body|tequila|vodka|whiskey|fireball) shots|(?:do|doing|did|let'?s do) (?:some )?shots"
        r"|crack (?:a|open a|open some) (?:cold one|beer|brew|cold)",
        "shots crack",
    ),
)
_ILLEGAL = Phrases(
    phrase(
        "encouraging shoplifting",
        r"nobody (?:actually |really |ever )?(?:checks|looks at|scans) (?:the|your|a) (?:bag|bags|receipt"
        r"|receipts|cart)|(?:walk|walked|just walk) out (?:without paying|with it)"
        r"|without paying (?:for )?(?:it|them)|(?:don'?t|no need to|skip) (?:pay|paying|scan"
        r"|scanning) (?:for )?(?:it|them)|(?:steal|swipe|pocket|lift) (?:it|them|one|some"
        r"|a few) from (?:the )?(?:store|shop|mall|target|walmart|cvs|walgreens|gas station)|nadie (?:revisa"
        r"|checa|se fija en) (?:la|las|el|los) (?:bolsa|bolsas|ticket|recibo)|sin pagar|(?:pocket|swipe|steal"
        r"|nab|lift|sneak|take|grab)[^.!?\n]{0,60}nobody (?:will|would|'?ll|is gonna|is going to"
        r"|ever) (?:notice|know|find out|miss|check)",
        "bag bags receipt receipts cart paying pay scan scanning store shop mall walmart cvs walgreens bolsa"
        " bolsas ticket recibo pagar notice",
    ),
)


def _encouraged(text: NormalText, word: WordHit) -> bool:
    """Encouragement in the word's sentence or the next ("I know some of you vape. I don't care.")."""
    canonical = text.canonical.text
    start, end = text.sentence_at(word.start)
    if search(_EDUCATION, canonical, start, end):
        return False
    if _SODA_BEFORE.search(canonical, max(0, word.start - 7), word.start):
        return False
    before = canonical[max(start, word.start - 16) : word.start]
    if search(_ENCOURAGING, canonical, start, end) or _QUANTITY_BEFORE.search(before):
        return True
    if end < len(canonical):
        next_start, next_end = text.sentence_at(end + 1)
        if next_start >= end and not search(_EDUCATION, canonical, next_start, next_end):
            return search(_NORMALISING, canonical, next_start, next_end)
    return False


def _young_people_involved(message: Message, canonical: str) -> bool:
    return (
        bool(message.student_recipients)
        or message.sender.role is Role.STUDENT
        or bool(_YOUNG.search(canonical))
    )


class SubstancesRule:
    id = "content.substances"
    category = "substances"
    description = "Encouraging or normalising alcohol, drugs, vaping or illegal activity (not education)."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        canonical = text.canonical.text
        words = hits_in(message.text, "substances")
        found: list[Found] = []
        if words:
            plain = any("weak" not in w.term.tags for w in words) or bool(_PARTY.search(canonical))
            for word in words:
                if "weak" in word.term.tags and not plain:
                    continue
                if _encouraged(text, word):
                    found.append(Found(f"encouraging {_kind(word)}", word.start, word.end))
        for item in find(_PHRASES, text):
            start, end = text.sentence_at(item.start)
            if not search(_EDUCATION, canonical, start, end):
                found.append(item)
        found.extend(find(_ILLEGAL, text))
        if found and not _young_people_involved(message, canonical):
            found = [f for f in found if "drink" not in f.label and "alcohol" not in f.label]
        return [hit(self.category, f.label, text, f, Severity.MEDIUM) for f in distinct(found)]


def _kind(word: WordHit) -> str:
    for tag, label in (
        ("alcohol", "alcohol"),
        ("drug", "drug use"),
        ("vape", "vaping"),
        ("tobacco", "smoking"),
    ):
        if tag in word.term.tags:
            return label
    return "illegal activity"
