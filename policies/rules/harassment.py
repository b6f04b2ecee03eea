"""Harassment: demeaning, bullying, discriminatory or humiliating language toward a person.

Three kinds of evidence, English and Spanish:
- slurs (``wordlists/slurs.txt``): always harassment;
- insults (``wordlists/insults.txt`` and the insulting words of ``profanity.txt``) when they are aimed at a
  person: "you're so lazy", "Luis is lazy", "don't be a dumbass", "jugó como un pendejo" — but not "a lazy
  Sunday", "there is no such thing as a stupid question" or "the portal is useless";
- demeaning patterns: doubting a person's ability, mocking, exclusion, body-shaming, telling a family to
  learn English "like normal people", ethnic stereotypes ("X people are naturally ...").
Identity words (gay, Muslim, Black, disabled ...) are never a finding by themselves.
Seeds 002 and 004: no harassing, discriminatory, derogatory, disparaging or bullying comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from policies.context import Context
from policies.decision import Severity
from policies.lexicon import WordHit, terms, word_hits
from policies.message import Message
from policies.parties import Roster
from policies.patterns import Found, Phrases, compile_pattern, distinct, find, hit, phrase
from policies.rules import Hit
from policies.text import NormalText, normalise

_INTENSIFIERS = (
    r"(?:an?|the|one|un|una|so|such|really|very|truly|totally|completely|absolutely|pretty|kind of|kinda"
    r"|sort of|just|simply|honestly|frankly|plain|utterly|incredibly|extremely|too|real|complete|total"
    r"|absolute|fucking|freaking|damn|little|big|and|most|the most|lazy|stupid|dumb|fat|ugly|useless|muy|bien"
    r"|tan|mas|el|la|bastante|demasiado|super|re|todo|toda|puro|pura|tremendo|tremenda|pinche|tal"
    # a person named between the verb and the insult: "es la niña más floja", "is one lazy kid"
    r"|nino|nina|chico|chica|alumno|alumna|estudiante|jugador|jugadora|muchacho|muchacha)"
)
# Said to the reader: "you idiot", "you're so lazy", "don't be a dumbass", "eres un inútil".
_TO_READER = re.compile(
    r"(?:\byou|\bu|\bya|\byou'?re|\byou are|\byoure|\bur|\bu r|\byou were|\byou look|\byou sound|\byou act"
    r"|\byou seem|\byou'?ve been|\byou have been|\byou'?re being|\byou'?re getting|\byou'?ve gotten|\bare you"
    r"|\bwere you|\bdon'?t be|\bdo not be|\bstop being|\bquit being|\bstop acting|\bquit acting"
    r"|\byou'?re acting|\byou act|\beres|\bfuiste|\beras|\bseas|\bpareces|\bte ves|\bsigues siendo|\bno seas"
    r"|\basi de|\bcomo)"
    r"(?:\s+" + _INTENSIFIERS + r")*\s+$"
)
# Said about someone: "... is lazy", "... es un flojo". Who that someone is is checked separately.
_ABOUT_SOMEONE = re.compile(
    r"(?:\bis|\bwas|\bare|\bwere|'s|\bbe|\bbeing|\bbecame|\bbecome|\bacts|\blooks|\bseems|\bsounds|\bgetting"
    r"|\bes|\bera|\bfue|\bsea|\besta|\bparece|\bse ve|\bsigue siendo)"
    r"(?:\s+" + _INTENSIFIERS + r")*\s+$"
)
# Exclamations and comparisons: "such a loser", "what an idiot", "qué tonto".
_EXCLAIMED = re.compile(r"(?:\bsuch|\bwhat|\bque)(?:\s+" + _INTENSIFIERS + r")*\s+$")
_PERSON_SUBJECT = re.compile(
    r"(?:\bhe|\bshe|\bthey|\bhe'?s|\bshe'?s|\bthey'?re|\bel|\bella|\bellos|\bellas|\busted|\bustedes"
    r"|\b(?:your|ur|his|her|their|su|tu|this|that|the|el|la) (?:son|daughter|kid|child|boy|girl|student|hijo"
    r"|hija|nino|nina|chamaco|muchacho|muchacha)|\b(?:this|that|the) (?:kid|child|boy|girl|student"
    r"|player))\s*$"
)
# Words that sound like insults but are about things: "a joke of a schedule" is not about a person.
_AMBIGUOUS = frozenset(
    {
        "joke",
        "trash",
        "garbage",
        "failure",
        "disgrace",
        "clown",
        "pig",
        "freak",
        "creep",
        "embarrassment",
        "slow",
        "slowest",
        "ignorant",
        "annoying",
        "lento",
        "lenta",
    }
)
_NOT_A_PERSON_AFTER = re.compile(
    r"^\s+(?:question|questions|idea|ideas|mistake|mistakes|thing|things|rule|rules|move|moves|day|days"
    r"|policy|system|portal|copier|weather|traffic|game|call|play|joke|thing|pregunta|preguntas|idea|error"
    r"|cosa|sunday|morning|afternoon|week|river|susan)\b"
)
_VOCATIVE_BEFORE = re.compile(r"(?:,|^|\bhey|\boye)\s*$")
_VOCATIVE_AFTER = re.compile(r"^\s*(?:[,.!?]|$)")
_SLUR_EXCUSED = {"chink": re.compile(r"^ in (?:the|his|her|their|our|my|your) armou?r")}


_TITLE = re.compile(r"(?:mr|mrs|ms|miss|dr|coach|sr|sra|srta|maestr[oa]|profesor|profesora)\.?\s*$")


def _named_person_before(text: NormalText, pos: int, roster: Roster) -> bool:
    """Whether the word just before ``pos`` (canonical) names a person: "Luis is lazy", "Mr. Wu is useless".

    A capitalised word alone is not enough ("Canvas is useless"): it must be a student's name or follow a
    title."""
    canonical = text.canonical.text
    # Only a window before ``pos``: searching the whole prefix for every insult made a 1 MB body of
    # insults cost minutes (quadratic).
    window_start = max(0, pos - _NAME_WINDOW)
    m = _LAST_WORD.search(canonical, window_start, pos)
    if m is None or m.group(1) in terms("name-stopwords"):
        return False
    start, end = text.source(m.start(1), m.end(1))
    written = text.original[start:end]
    if not written[:1].isupper():
        return False
    return bool(_TITLE.search(canonical[max(0, m.start(1) - 12) : m.start(1)])) or bool(
        roster.students_named(written)
    )


_NAME_WINDOW = 80  # characters: a name, a title and the spaces between them and the insult
_LAST_WORD = re.compile(r"([a-z]+)\s*\Z")


def _aimed(text: NormalText, word: WordHit, roster: Roster) -> bool:
    canonical = text.canonical.text
    sentence_start, _ = text.sentence_at(word.start)
    before = canonical[max(sentence_start, word.start - 70) : word.start]
    if _NOT_A_PERSON_AFTER.search(canonical[word.end : word.end + 20]):
        return False
    if _TO_READER.search(before):
        return True
    if _VOCATIVE_BEFORE.search(before) and _VOCATIVE_AFTER.search(canonical[word.end : word.end + 3]):
        return True  # "Put down the donuts, chubby, ...": calling someone by an insult
    about = _ABOUT_SOMEONE.search(before)
    if about is not None:
        subject_end = max(sentence_start, word.start - 70) + about.start()
        head = canonical[max(sentence_start, subject_end - 40) : subject_end]
        return bool(_PERSON_SUBJECT.search(head)) or _named_person_before(text, subject_end, roster)
    token = canonical[word.start : word.end]
    return token not in _AMBIGUOUS and _EXCLAIMED.search(before) is not None


_PHRASES = Phrases(
    # Doubting a person's ability or worth.
    phrase(
        "demeaning a person's ability",
        r"(?:he|she|you|u|they|[a-z]+) (?:will never|won'?t ever|is never going to|isn'?t ever going to"
        r"|are never going to|never will|is never gonna) (?:be )?(?:good|any good|smart|able|successful|learn"
        r"|get it|understand|amount|make it|pass)|(?:nice|great|good) (?:job|work|going) (?:failing|losing"
        r"|messing up|screwing up|flunking|blowing it)|people from (?:your|their|his|her) (?:country|culture"
        r"|village|part of town)|(?:your|their) (?:country|culture|people) (?:always|never)",
        "never nice great good people country culture",
    ),
    phrase(
        "demeaning a person's ability",
        r"(?:doubt|don'?t think|do not think|don'?t believe|not sure) (?:that )?(?:he|she|you|they|he'?s"
        r"|she'?s|you'?re|they'?re) (?:is |are |will |would |could |can |even |ever |really |actually "
        r"|be )*(?:capable|smart enough|bright enough|good enough|able to (?:handle|keep up|do|pass|learn)"
        r"|cut out for)",
        "capable enough able cut",
    ),
    phrase(
        "demeaning a person's ability",
        r"(?:won'?t|will never|never going to|not going to|isn'?t going to|aren'?t going to"
        r"|never gonna) amount to (?:anything|much|something)",
        "amount",
    ),
    phrase(
        "low expectations of a person",
        r"(?:wouldn'?t|would not|don'?t|do not|shouldn'?t|can'?t|won'?t) expect (?:much|anything|a lot"
        r"|more) (?:from|of) (?:him|her|them|you|this kid|that kid|your (?:son|daughter|kid|child))",
        "expect",
    ),
    phrase(
        "demeaning a person's ability",
        r"(?:don'?t|do not|can'?t|cannot) (?:know|understand|see|imagine|believe) how (?:you|he|she"
        r"|they) (?:ever |even )?(?:got|get|were|was|made it|passed) (?:placed|put|into|in|accepted|admitted"
        r"|promoted|here|this far)",
        "placed accepted admitted promoted far into",
    ),
    phrase(
        "demeaning comparison",
        r"(?:reads|read|looks|look|sounds|sound|writes|write|wrote|acts|act|acting|talks|talk|plays|play"
        r"|played|playing|runs|ran|run|throw|throws|threw|cries|cry|crying|behaves|behave|behaving|fight"
        r"|fights) like (?:a|an|some) (?:[a-z'\-]+ ){0,2}(?:grader|kindergartn?er|toddler|baby|child|monkey"
        r"|five-year-old|5-year-old|girl|sissy|wimp|idiot|moron|clown|loser|preschooler|whale|pig|cow|hippo"
        r"|elephant|blimp)",
        "grader kindergartner kindergartener toddler baby child monkey old girl sissy wimp idiot moron clown"
        " loser preschooler whale pig cow hippo elephant blimp",
    ),
    phrase(
        "demeaning comparison",
        r"(?:even )?(?:a|my|an) (?:[a-z'\-]+ ){0,2}(?:grader|kindergartn?er|toddler|baby|child|monkey"
        r"|five-year-old|5-year-old|dog|cat|preschooler) could (?:do|have done|write|have written|figure"
        r"|solve|understand|play|run) (?:this|that|it|better)",
        "grader kindergartner kindergartener toddler baby child monkey old dog cat preschooler",
    ),
    phrase(
        "demeaning a person",
        r"(?:the )?(?:most annoying|least (?:smart|intelligent|talented|capable)|dumbest|stupidest|laziest"
        r"|slowest|worst|weakest|ugliest|fattest|most useless|most pathetic|most hopeless|biggest (?:idiot"
        r"|loser|baby|disappointment|failure|joke|waste)) (?:kid|kids|student|students|child|children|one"
        r"|player|players|person|girl|boy|member|guy|teacher|parent|mom|dad|human|family)",
        "annoying least dumbest stupidest laziest slowest worst weakest ugliest fattest useless pathetic"
        " hopeless biggest",
    ),
    phrase(
        "humiliating a person",
        r"(?:nobody|no one|noone|none of the (?:other )?(?:kids|students|girls|boys)) (?:wants|want|likes"
        r"|like|will ever want|ever wants) (?:to )?(?:sit|play|work|hang out|partner|be friends|eat"
        r"|be seen) (?:with|near|next to) (?:you|him|her|them)",
        "nobody noone none one",
    ),
    phrase(
        "humiliating a person",
        r"(?:nobody|no one|noone)(?: (?:on|in|at|from) (?:the|this|your|our) [a-z]+)? (?:likes|cares about"
        r"|wants|respects|trusts|believes) (?:you|him|her)(?! to)",
        "nobody noone one",
    ),
    phrase(
        "demeaning a person's ability",
        r"(?:he'?s|she'?s|he is|she is|you'?re|you are|(?:your|ur|his|her) (?:son|daughter|kid|child|boy"
        r"|girl)(?: is|'s)) (?:just |really |simply |honestly |frankly )?not (?:very |that |too "
        r"|particularly |exactly |all that )?(?:bright|smart|intelligent|capable|talented|clever|sharp)"
        r"|not the (?:brightest|sharpest) (?:bulb|tool|crayon|kid|student|one)|no amount of (?:tutoring|help"
        r"|practice|extra help|studying) (?:will|is going to|can) (?:fix|help|change)|(?:pathetic|sorry"
        r"|poor) excuse for an? [a-z]+",
        "bright smart intelligent capable talented clever sharp brightest sharpest amount excuse",
    ),
    phrase(
        "mocking a person",
        r"(?:make|makes|made|making) fun of (?:you|him|her|them|your|his)|(?:given|give|gave) up on (?:you"
        r"|him|her)|(?:he|she|you|u) (?:smells?|stinks?|reeks?)(?: so| really)?(?: bad| awful| terrible"
        r"| gross)?|(?:don'?t|doesn'?t|do not|does not|ni siquiera) (?:even )?(?:speak|hablan|habla|sabe"
        r"|saben) (?:english|ingles)|(?:everyone|everybody|the whole (?:class|team|school|room)"
        r"|all the (?:other )?(?:kids|parents|teachers|students|players)|half the (?:class|team"
        r"|parents)) (?:at [a-z]+ |in [a-z]+ )?(?:laughs|laughed|is laughing|are laughing|laugh|makes fun"
        r"|made fun|jokes|joked) (?:at|about|of) (?:you|your|him|his|her|them|their)",
        "laughs laughed laughing laugh fun jokes joked given give gave smell smells stink stinks reek reeks"
        " english ingles",
    ),
    phrase(
        "mocking a person",
        r"(?:lol|lmao|haha[ha]*|😂|🤣)[^.!?\n]{0,40}look at [a-z]+(?: [a-z]+)? (?:passed out|crying|drooling"
        r"|snoring|asleep|sleeping|falling|tripping|face ?planting|failing|struggling|sweating|puking)"
        r"|look at [a-z]+(?: [a-z]+)? (?:passed out|crying|drooling|snoring|asleep|sleeping|falling|tripping"
        r"|face ?planting|failing|struggling|sweating|puking)[^.!?\n]{0,40}(?:lol|lmao|haha|😂|🤣)",
        "passed crying drooling snoring asleep sleeping falling tripping planting faceplanting failing"
        " struggling"
        " sweating puking",
    ),
    phrase(
        "belittling a person",
        r"(?:toughen up|man up|suck it up|stop being (?:such )?a (?:baby|crybaby|wimp|sissy|girl)|(?:stop"
        r"|quit) (?:crying|whining|acting like a (?:baby|girl|child)))",
        "toughen man suck crying whining baby crybaby wimp sissy",
    ),
    phrase(
        "belittling a person",
        r"shut (?:up|your (?:mouth|trap|face|pie ?hole))|callate|cierra (?:la boca|el pico|el hocico)",
        "shut callate cierra",
    ),
    # Objectifying a student in front of others is sexual harassment as well as sexual content.
    phrase(
        "sexualised remark about a person",
        # said of someone else ("Ava with the best legs on the team"), not to the reader
        r"(?<!you\s)(?<!you've\s)(?<!u\s)(?:with|has|got|have|had) the (?:best|nicest|hottest|sexiest|biggest"
        r"|prettiest|finest) (?:legs|body|butt|ass|boobs|chest|rack|curves|booty|figure)",
        "legs body butt ass boobs chest rack curves booty figure",
    ),
    # Body-shaming.
    phrase(
        "body-shaming",
        r"(?:lay|lays|go easy|ease up|cut back|back) (?:off|on) the (?:junk food|snacks|donuts|doughnuts"
        r"|cookies|burgers|fries|sweets|candy|cake|pizza|chips|soda|carbs|buffet|cheeseburgers|twinkies"
        r"|seconds)",
        "food snacks donuts doughnuts cookies burgers fries sweets candy cake pizza chips soda carbs buffet"
        " cheeseburgers twinkies seconds",
    ),
    phrase(
        "body-shaming",
        r"(?:need|needs|should|have to|has to|gotta|better) (?:to )?(?:lose|drop|shed) (?:some|a few|a little"
        r"|a couple|a bunch of|the)? ?(?:weight|pounds|lbs|kilos|belly|gut|baby fat|chins)|(?:thunder thighs"
        r"|lard ?ass|double chin|muffin top|beached whale|fatso|tubby)",
        "weight pounds lbs kilos belly gut fat chins thunder lard lardass double muffin beached fatso tubby",
    ),
    phrase(
        "body-shaming",
        r"(?:deja|deje|dejes|dejen) de (?:comer|tragar) (?:tanto|tanta|tantas|tantos|porquerias|chatarra"
        r"|dulces)|(?:necesita|necesitas|tiene que|tienes que|deberia|deberias) (?:bajar"
        r"|perder) (?:de )?(?:peso|kilos|la panza|unos kilos)",
        "comer tragar peso kilos panza",
    ),
    # Discrimination.
    phrase("discriminatory remark", r"(?<!thank\s)(?<!thanks\s)you people", "people"),
    phrase(
        "discriminatory remark",
        r"(?:people|families|kids|folks|students|parents|children) like (?:you|yours|your family|your kind"
        r"|them) (?:[a-z']+ ){0,2}(?:need|needs|should|have to|has to|ought to|always|never|can'?t|cannot"
        r"|don'?t|won'?t|are the (?:problem|reason)|ruin|ruined|come here|bring)",
        "people families folks kids children parents students",
    ),
    phrase(
        "discriminatory remark",
        r"(?:your|their) (?:kind|sort) (?:is|are|always|never|don'?t|can'?t|need|should|aren'?t)|(?:of|like"
        r"|for) your kind(?! words| note| message| email)",
        "kind sort",
    ),
    phrase(
        "discriminatory remark",
        r"(?:go|going|get|went|should go|move|send (?:you|them)) back (?:to )?(?:your|their|his|her"
        r"|where (?:you|they|he|she)) (?:own )?(?:country|came from|home country|homeland)",
        "country came homeland",
    ),
    phrase(
        "discriminatory remark",
        r"(?:need|needs|should|have to|has to|ought to|bother(?:ed)? to|take the (?:time|trouble) to"
        r"|try to) (?:learn|speak) (?:proper |real |some |better |decent )?english|if (?:you|your family"
        r"|you people|they|your parents) (?:spoke|could speak|would speak|learned|knew|bothered to learn"
        r"|would learn) (?:[a-z]+ ){0,2}english",
        "english",
    ),
    phrase(
        "discriminatory remark",
        r"(?:learn|learned|understand|figure out) how things (?:work|are done) (?:in this country"
        r"|here in america|in america)|(?:in|to) this country (?:before|instead of) (?:complaining|whining"
        r"|criticizing)|like (?:normal|regular|real|decent|civilized) (?:people|americans|families|folks)",
        "country normal regular decent civilized",
    ),
    phrase("discriminatory remark", r"(?:that'?s|thats|that is|this is|you'?re|you are|ur|so) so gay", "gay"),
    phrase(
        "discriminatory remark",
        r"(?:aprender|aprendan|aprenda|aprendieran|aprendiera|hablar|hablen|hable"
        r"|hablaran) (?:el )?ingles como (?:la )?gente|como (?:la )?gente (?:normal|decente|civilizada)",
        "ingles gente",
    ),
    phrase(
        "discriminatory remark",
        r"(?:regresen|regrese|regresate|vuelvan|vuelva|vuelvete|vete|vayanse|larguense|regresar|volver) (?:a"
        r"|para) (?:su|tu) (?:pais|tierra|rancho)",
        "pais tierra rancho",
    ),
    phrase(
        "discriminatory remark",
        r"(?:gente|familias|personas|ninos) como (?:usted|ustedes|tu|ellos|ellas)(?: [a-z]+){0,2} (?:deben"
        r"|tienen que|siempre|nunca|no saben|no pueden|necesitan)|(?:los|las) de (?:su|tu) (?:tipo|clase"
        r"|raza)|(?:en|a) este pais (?:antes de|en vez de) (?:quejarse|quejarte|reclamar)",
        "gente familias personas ninos tipo clase raza pais",
    ),
    # Mocking an accent or a language.
    phrase(
        "mocking a person's accent or speech",
        r"(?:your|his|her|their) (?:accent|english|spanish|voice|lisp|stutter) (?:makes|make|is|was|'s|sounds"
        r"|are) (?:[a-z']+ ){0,5}(?:hard|impossible|annoying|funny|weird|difficult|tough|painful|embarrassing"
        r"|terrible|awful|bad|broken)",
        "accent english spanish voice lisp stutter",
    ),
    phrase(
        "mocking a person's accent or speech",
        r"(?:su|tu) (?:acento|ingles|espanol|forma de hablar) (?:es|esta|suena"
        r"|hace) (?:[a-z]+ ){0,4}(?:horrible|feo|dificil|ridiculo|chistoso|raro|malo|terrible)",
        "acento ingles espanol forma",
    ),
    # Spanish demeaning.
    phrase(
        "demeaning a person",
        r"(?:no|nunca) (?:sirve|sirves|sirven) (?:para|de) nada|(?:nunca|no) (?:va|vas"
        r"|van) a (?:llegar a nada|ser nadie)|(?:no creo|dudo) que (?:sea|seas|pueda|puedas|llegue"
        r"|llegues) (?:capaz|a nada)|no (?:espere|esperes|esperen) (?:mucho|nada) de (?:el|ella|su hijo"
        r"|su hija)|nadie quiere (?:sentarse|jugar|trabajar|estar|juntarse) con (?:el|ella|usted|contigo)"
        r"|todos se (?:rien|burlan|rieron|burlaron) de (?:ti|el|ella|usted|su|tu)",
        "sirve sirves sirven nadie capaz espere esperes esperen quiere burlan rien rieron burlaron",
    ),
)


@cache
def _stereotype() -> re.Pattern[str]:
    """A group spoken of as all alike ("X people are naturally ...", "you X always ..."): never the group's
    name alone."""
    groups = "|".join(sorted(map(re.escape, terms("identity")), key=lambda g: (-len(g), g)))
    return compile_pattern(
        rf"(?:{groups})(?: like (?:you|her|him|them))?(?: people| kids| students| families| folks| parents)?"
        r" (?:are|is|were|tend to be) (?:all |always |just |so |really )*(?:naturally|genetically|inherently"
        r"|born|all the same|lazy|stupid|dumb|dirty|violent|criminals|terrorists|illegals|cheap|greedy"
        r"|animals|savages)"
        rf"|(?:you|all you|you people|ustedes|todos ustedes) (?:los |las )?(?:{groups}) (?:always|never|all"
        r"|are all|are always|just|siempre|nunca|todos|son|solo)"
    )


class HarassmentRule:
    id = "content.harassment"
    category = "harassment"
    description = "Demeaning, bullying, discriminatory or humiliating language toward a person."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        canonical = text.canonical.text
        found: list[Found] = []
        severe: set[tuple[int, int]] = set()
        for word in word_hits(message.text):
            name = word.term.listname
            token = canonical[word.start : word.end]
            if name == "slurs":
                excused = _SLUR_EXCUSED.get(token)
                if excused is None or not excused.search(canonical[word.end : word.end + 20]):
                    found.append(Found("slur", word.start, word.end))
                    severe.add((word.start, word.end))
            elif (name == "insults" or "insult" in word.term.tags) and _aimed(text, word, context.roster):
                found.append(Found("insult aimed at a person", word.start, word.end))
        found.extend(find(_PHRASES, text))
        if not text.words.isdisjoint(terms("identity")):
            found.extend(Found("stereotype", m.start(), m.end()) for m in _stereotype().finditer(canonical))
        hits = []
        for item in distinct(found):
            high = (item.start, item.end) in severe or item.label in ("discriminatory remark", "stereotype")
            hits.append(
                hit(self.category, item.label, text, item, Severity.HIGH if high else Severity.MEDIUM)
            )
        return hits
