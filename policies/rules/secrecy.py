"""Secrecy: boundary-crossing and grooming signals, in English and Spanish.

- hiding contact from parents or the school: "don't mention it to your dad", "your parents don't need to
  know", "so admins and parents can't see it", "que tu mamá no se entere";
- deleting messages: "delete this email after you read it", "borre este mensaje";
- "just between us", "our little secret", "que quede entre tú y yo";
- gifts, rides and meeting alone: "I got you a little present", "I can drive you home, just the two of
  us", "come get it when the room is empty", "study session at my house", "solo ella y yo";
- special-relationship language and excessive personal attention: "you're my favorite student", "I get
  you better than they do", "can't stop thinking about today", "u up?";
- the student's side of it, written to staff: a cover story told at home ("I lied to my mom", "my dad
  thinks I'm at practice") or messages deleted ("I deleted everything like you said", "ya borré todo");
- and from anyone, "no one will find out", "nadie se va a enterar".
A class surprise is not a secret kept from parents ("keep your person a secret until the gift exchange",
"es un secreto, no le comenten nada a ella"), nor is deleting an outdated schedule or offering the team
bus. Signals about closeness count only where a student is involved (a student recipient, or "her"/"him"
as the one to be driven or met): "just us" between two adults is not this rule's business, and neither is a
guardian's "I'll pick her up at the office".
Seed 000: communication between employees and individual students must be transparent and accessible to
supervisors, and parents should have access to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.message import Message
from policies.parties import Role
from policies.patterns import Phrases, compile_pattern, distinct, find, hit, phrase, search
from policies.rules import Hit
from policies.text import normalise

_KEPT_FROM = r"(?:(?:%YOUR%|the|his|her) )?(?:%PARENTS%|%OVERSIGHT%)"
_KEPT_FROM_WORDS = (  # the words of _KEPT_FROM, for the cheap test before the regular expression runs
    "parent parents mom moms mum mommy mother dad dads daddy father folks family guardian guardians stepmom"
    " stepdad grandma grandpa grandmother grandfather grandparents aunt uncle mama papa principal admin"
    " admins"
    " administration administrators administrator office counselor counselors counsellor counsellors teacher"
    " teachers coach coaches school district supervisor supervisors police cops"
)

# Hiding from parents or the school: always a finding.
_HIDE_FROM_FAMILY = Phrases(
    phrase(
        "keeping contact from parents or the school",
        r"(?:don'?t|do not|dont|never|no need to|you don'?t (?:have|need) to|don'?t have to|shouldn'?t"
        r"|better not|no reason to) (?:tell|mention|say|show|let on to|bring up|share|talk about"
        r"|breathe a word)(?: (?:it|this"
        rf"|that|anything|a word|any of this|about (?:it|this|us|that|me)))?(?: (?:to|with))? {_KEPT_FROM}",
        "tell mention say show let bring share talk breathe",
        _KEPT_FROM_WORDS,
    ),
    phrase(
        "keeping contact from parents or the school",
        rf"(?:{_KEPT_FROM}|nobody|no one|noone)(?:'s)? (?:(?:don'?t|do not|doesn'?t|does not|never|won'?t) )?"
        r"(?:need|have|has|needs) to know"
        rf"|(?:don'?t|do not|never) let {_KEPT_FROM} (?:know|find out|see|read|hear)"
        r"|(?:i|we) (?:won'?t|will not|wouldn'?t|will never|never|ain'?t gonna) (?:tell|say anything to"
        r"|mention it"
        rf" to) {_KEPT_FROM}",
        "know find see read hear tell say mention",
        _KEPT_FROM_WORDS + " nobody no noone",
    ),
    phrase(
        "keeping contact from parents or the school",
        rf"(?:keep|keeping|kept|hide|hiding) (?:it|this|that|things|us|me|our [a-z]+) from {_KEPT_FROM}"
        rf"|(?:with|to) me,? not (?:with |to )?{_KEPT_FROM}"
        r"|(?:come|talk|go|tell|turn|bring (?:it|that|things)) to me (?:instead of|rather than"
        rf"|before) {_KEPT_FROM}",
        "keep keeping kept hide hiding not instead rather before",
        _KEPT_FROM_WORDS,
    ),
    phrase(
        "hiding contact from oversight",
        r"(?:so|where|because|since|that way) (?:the )?(?:%PARENTS%|%OVERSIGHT%|nobody|no one"
        r"|admins?)(?: and (?:the )?(?:%PARENTS%|%OVERSIGHT%|admins?))? (?:can'?t|cannot|won'?t|will not"
        r"|don'?t|do not|will never|never) (?:see|read|find out|know|check|monitor|track|access)"
        r"|off the record"
        rf"|(?:don'?t|do not|no need to) (?:cc|copy|loop in|include) {_KEPT_FROM}",
        "see read find know check monitor track access record cc copy loop include",
    ),
    phrase(
        "keeping contact from parents or the school",
        r"(?:no|nunca) (?:le |les |se lo |se la |se los )?(?:digas|diga|digan|cuentes|cuente|cuenten"
        r"|menciones|mencione|mencionen|comentes|comente|ensenes|muestres)(?: nada| esto| eso)? (?:a (?:tu|su"
        r"|tus|sus) (?:%PADRES%|maestr[oa]s?|direccion|director|directora|consejer[oa]|companer[oa]s"
        r"|amig[oa]s)|a la (?:direccion|directora|maestra|consejera|escuela|oficina)|al (?:director|maestro"
        r"|consejero|entrenador|coach)|a los (?:demas |otros )?(?:%PADRES%|maestros|papas|padres))|(?:que"
        r"|para que) (?:tu|su|tus|sus) %PADRES% no se (?:entere|enteren|de cuenta|den cuenta)|(?:tus"
        r"|sus) %PADRES% no (?:tienen|tiene|necesitan|necesita) (?:que|por que) (?:saber|enterarse)|en (?:vez"
        r"|lugar) de (?:a )?(?:tus|sus|tu|su) %PADRES%",
        "digas diga digan cuentes cuente cuenten menciones mencione mencionen comentes comente ensenes"
        " muestres"
        " entere enteren saber enterarse vez lugar",
    ),
)
# The student's side, told to staff: a cover story at home, the messages gone.
_COVERING = Phrases(
    phrase(
        "a cover story kept from parents",
        r"(?:i|we) (?:lied|lie|had to lie|have to lie|keep lying) to (?:my|our) %PARENTS%"
        r"|(?:my|our) %PARENTS% (?:thinks?|still thinks?|believes?) (?:i'?m|i am|i was|we'?re|we are"
        r"|we were) (?:at|with|in|over at|staying)",
        "lied lie lying thinks think believes believe",
    ),
    phrase(
        "a cover story kept from parents",
        r"(?:le|les) (?:menti|mentimos|tuve que mentir|tengo que mentir) a (?:mi|mis) %PADRES%|(?:mi|mis)"
        r" %PADRES% (?:cree|creen|piensa|piensan) que (?:estaba|estoy|estuve|estabamos|estamos) (?:en|con)",
        "menti mentimos mentir cree creen piensa piensan",
    ),
    phrase(
        "messages deleted",
        r"(?:deleted|erased|cleared|wiped) (?:everything|it all|all of"
        r" it|all of them|them all|every (?:message|text|snap|email)|the (?:whole|entire) (?:chat|thread"
        r"|convo|conversation))|(?:ya )?(?:borre|borramos|elimine) (?:todo|todos|todas|cada mensaje)",
        "deleted erased cleared wiped borre borramos elimine",
    ),
)
# Secrets in general: the same words serve class surprises, so a surprise nearby excuses them.
_SECRET = Phrases(
    phrase(
        "asking to keep a secret",
        r"(?:don'?t|do not|dont|never) (?:tell|mention|say|show|share|forward|screenshot)(?: (?:it|this|that"
        r"|these|anything|a word|about (?:it|this|us)|(?:these|this|my|our) (?:messages?|texts?|emails?"
        r"|chats?)))?(?: (?:to|with))? (?:anyone|anybody|a soul|the others|other (?:kids|students|players)"
        r"|your friends)|(?:this|these|it|they'?re|it'?s|this is|these are) (?:is |are )?(?:just"
        r"|only) (?:for you|between us)|sin que (?:la escuela|nadie|tus papas|sus papas|tu mama|su mama"
        r"|tu papa|su papa|la directora|el director|la maestra|el maestro) se (?:entere|enteren|de cuenta"
        r"|den cuenta)",
        "anyone anybody soul others other friends just only entere enteren cuenta",
    ),
    phrase(
        "asking to keep a secret",
        r"(?:keep|keeping|kept) (?:it|this|that|things|this whole thing|our [a-z]+"
        r"|the [a-z]+(?: [a-z]+){0,3}) (?:quiet|secret|a secret|our (?:little )?secret|on the down ?low"
        r"|on the dl|between us|between (?:you and me|the two of us)|to yourself|to ourselves"
        r"|between ourselves|private|hush-hush|under wraps)|(?:just|strictly|stays|stay|this is|it'?s|that'?s"
        r"|only|keep it) between (?:us|you and me|you and i|the two of us|ourselves)|between (?:you and me"
        r"|the two of us)|between us(?=\s*[,:;!-])|let'?s not tell (?:them|anyone|anybody|your [a-z]+)"
        r"|our (?:little |special )?secret(?! (?:weapon|recipe|ingredient|plan|play|handshake|code|santa|word"
        r"|sauce|formula|identity|mission))|(?:it|this|everything|what we talk about) (?:stays|stay"
        r"|will stay) (?:with me|between us|in this room)",
        "quiet secret between down dl yourself ourselves private hush wraps stays stay tell",
    ),
    phrase(
        "asking to keep a secret",
        r"(?:que )?quede entre (?:tu y yo|usted y yo|nosotr[oa]s)|entre (?:tu y yo|usted y yo|nosotros dos)"
        r"|nuestro (?:pequeno )?secreto|(?:no|nunca) (?:le |les |se lo |se la |se los )?(?:digas|diga|digan"
        r"|cuentes|cuente|cuenten|menciones|mencione|mencionen|comentes|comente|comenten)(?: nada| esto"
        r"| eso)? a nadie",
        "quede entre nuestro nadie",
    ),
    phrase(
        "promising that no one will find out",
        r"(?:no one|nobody|noone|no1) (?:will|is going to|is gonna|'?s gonna|'?s going to|'?ll|has to"
        r"|needs to|will ever|is ever going to) (?:ever )?find out|nadie (?:se )?(?:va a|tiene que|necesita)"
        r" (?:enterar|enterarse|saber)|nadie se (?:enterara|va a dar cuenta)",
        "find enterar enterarse saber enterara cuenta",
    ),
)
_SURPRISE = compile_pattern(
    r"surpris(?:e|es|ed|ing)|secret santa|gift exchange|reveal|game|party for|card for|sorpresa"
    r"|fiesta (?:para|de)|intercambio|amigo secreto"
)
_DELETE = Phrases(
    phrase(
        "asking to delete messages",
        r"(?:delete|erase|deleted|clear|wipe|get rid of|remove) (?:this|these|that|our|my|the"
        r"|all (?:of )?(?:our|my|these|the)|your) (?:message|messages|text|texts|email|e-mail|emails|chat"
        r"|chats|conversation|conversations|dm|dms|thread|convo|snaps?|history|phone|call log)",
        "delete erase deleted clear wipe rid remove",
        "message messages text texts email emails chat chats conversation conversations dm dms thread convo"
        " snap"
        " snaps history phone log",
    ),
    phrase(
        "asking to delete messages",
        r"(?:borra|borre|borren|borrar|borraste|borro|borralo|elimina|elimine|eliminar) (?:este|estos|esta"
        r"|estas|el|los|nuestros|nuestras|mis|tus|la|las|todo|todos los|todos nuestros|todas las"
        r"|todos tus) (?:mensaje|mensajes|correo|correos|chat|chats|texto|textos|conversacion|conversaciones"
        r"|whats)",
        "borra borre borren borrar borraste borro borralo elimina elimine eliminar",
    ),
)
_CORRECTION = compile_pattern(
    r"previous|earlier|last one|old|outdated|wrong|incorrect|mistake|error|typo|disregard|by accident"
    r"|accidentally|duplicate|spam|phishing|anterior|equivocad[oa]|error"
)
# "Don't text me your social; delete that text": the one message that carried a number that should never
# have been sent, deleted, is care for the student's data, not a conversation hidden from anyone. Not "this
# message": deleting the message being read is the classic request to hide it.
_THAT_MESSAGE = re.compile(
    r"(?:that|the|your|el|ese|tu|su) (?:message|text|email|e-mail|mensaje|correo|texto)$"
)
_DATA_AT_RISK = compile_pattern(
    r"ssn|social security|seguro social|(?:your|tu|su) social(?! (?:media|studies|worker|skills|life|event))"
    r"|password|passwords|contrasena|phishing|scam"
)
# Personal gifts.
_GIFT = Phrases(
    phrase(
        "personal gift",
        r"(?:got|bought|have|left|picked up|made|am getting|'?m getting|will get|'?ll get|'?ll buy|will buy"
        r"|want to (?:buy|get|give)|wanna (?:buy|get|give)) (?:you|u|ya) (?:a |an |some |something |this "
        r"|these|a little |a small |a special |little |special |new )*(?:present|presents|gift|gifts"
        r"|gift card|surprise|something special|little something|shoes|sneakers|phone|money|cash|tickets"
        r"|necklace|bracelet|jewelry|perfume)|(?:a|an|this|the) (?:little |small |special )?(?:present|gift"
        r"|gift card) (?:just )?(?:for you|from me)(?! (?:and|or) (?:your|the))|because (?:you'?re"
        r"|you are) (?:special|my favorite)|here'?s (?:\$ ?\d+|some money|some cash"
        r"|a little something) for you|(?:got|bought|ordered|picked up|found) (?:you|u|ya) (?:that|the|a|an"
        r"|some|those) (?:[a-z]+ ){0,4}(?:you (?:wanted|like|liked|love|loved|asked for|mentioned))",
        "here present presents gift gifts card surprise special something shoes sneakers phone money cash"
        " tickets"
        " wanted"
        " like liked love loved asked mentioned"
        " necklace bracelet jewelry perfume",
    ),
    phrase(
        "personal gift",
        r"(?:te|le) (?:compre|traje|deje|tengo|regalo|regale|voy a regalar|quiero regalar|guarde) (?:un|una"
        r"|unos|unas|algo)(?: [a-z]+){0,2} ?(?:regalo|regalito|sorpresa|tenis|zapatos|celular|telefono|dinero"
        r"|especial|detalle|detallito|juguete|tarjeta de regalo|boletos|entradas|collar|pulsera)|(?:un|es un"
        r"|son un) regalo (?:mio|para ti|de mi parte|personal)",
        "regalo regalito sorpresa tenis zapatos celular telefono dinero especial detalle detallito juguete"
        " tarjeta"
        " boletos entradas collar pulsera",
    ),
)
# Closeness: rides, meeting alone, the staff member's home, special-relationship words, late-night contact.
_CLOSE = Phrases(
    phrase(
        "offering a ride",
        r"(?:i|i'?ll|i will|i can|i could|let me|want me to|i'?m happy to|i don'?t mind"
        r"|happy to) (?:[a-z]+ )?(?:drive|give|pick|run) (?:you|u|ya|her|him) (?:home|a ride(?! on)"
        r"|a lift(?! on)|up (?:at|from|after)|back home)|(?:i|i'?ll|i will|i can|i could|let me) take (?:you"
        r"|u|her|him) (?:home|out (?:for|to))|(?:want|need) a (?:ride|lift) home",
        "home ride lift pick",
    ),
    phrase(
        "offering a ride",
        r"(?:yo )?(?:paso|pasare|voy a pasar|puedo pasar) por (?:ti|ella|el|usted)(?: a (?:su|tu) casa)?"
        r"|(?:te|la|lo) (?:llevo|lleve|llevare|puedo llevar|voy a llevar) (?:a (?:tu|su) casa|en mi (?:carro"
        r"|coche|auto|camioneta))|en mi (?:carro|coche|auto|camioneta)",
        "paso pasare pasar llevo lleve llevare llevar carro coche auto camioneta",
    ),
    phrase(
        "meeting alone",
        r"just (?:the two of us|you and me|you and i|us two|us)(?! and)|(?:when|while|after"
        r"|once) (?:the room is|everyone'?s|everyone has|everyone is|nobody'?s|nobody is|no one'?s|no one is"
        r"|the others are|it'?s just) (?:empty|gone|left|around|here|there|us)|meet (?:me |up )?(?:alone"
        r"|privately|in private|somewhere private|off campus|at my (?:house|place|apartment|car))|(?:alone"
        r"|by yourself) with me|come (?:alone|by yourself)|(?:don'?t|do not) bring (?:anyone|your (?:friends"
        r"|parents|mom|dad))",
        "just empty gone alone privately private campus yourself bring",
    ),
    phrase(
        "invitation to a staff member's home",
        r"(?:come|coming|stop|swing|drop) (?:over|by) (?:to )?my (?:house|place|apartment|home)|(?:bonding"
        r"|game night|session|party|hang ?out|dinner|sleepover|movie night|pizza|study|get-together|bbq"
        r"|cookout|lunch|pregame|pre-game|kickback|bonfire|sleep over|movie)[^.!?\n]{0,30}(?:at"
        r"|to) my (?:house|place|apartment|home|condo)|(?:at|to) my (?:house|place|apartment|home) (?:on "
        r"|this |next |after |before |for |saturday|sunday|tonight|tomorrow)",
        "house place apartment home condo",
    ),
    phrase(
        "meeting alone",
        r"solo (?:tu|usted|ella|el) y yo|a solas|(?:solo|solamente) nosotros(?: dos)?|(?:ven|vengan|venga"
        r"|vente|pasa|pasen|nos vemos|te espero|la espero|lo espero|fiesta|sesion|estudiar|comer"
        r"|cenar)[^.!?\n]{0,25}(?:en|a) mi casa",
        "solo solas solamente casa",
    ),
    phrase(
        "special-relationship language",
        r"(?:you'?re|you are|ur) (?:my|the) (?:favorite|favourite|fave)(?: (?:student|player|kid|one|girl"
        r"|boy))?|my (?:favorite|favourite) (?:student|player|kid)|(?:you'?re|you are) (?:so )?special to me"
        r"|(?:i|nobody|no one(?: else)?) (?:get|gets|understand|understands|know|knows) (?:you|u) (?:(?:way "
        r"|so much |much |a lot |far )?(?:better|more) than|like i do|the way i do)|(?:they|your parents"
        r"|your mom|your dad) (?:don'?t|do not|will never|never) (?:get|understand) (?:you|u)"
        r"|mature for (?:your|ur) age|(?:more|so|really|very) mature than|i (?:feel like i )?can (?:really "
        r"|actually )?talk to (?:you|u)|you (?:really |just |totally )?get me(?=\s*(?:[.!,]|$))|(?:a"
        r"|our) (?:special|real|deep) (?:connection|bond)|(?:we have|there'?s) something special|(?:you'?re"
        r"|you are) (?:not like|different from) (?:the other|other|all the other) (?:kids|students|girls|boys"
        r"|players)|(?:they|your parents|your mom|your dad|your family) (?:wouldn'?t|won'?t|don'?t|will never"
        r"|would never|couldn'?t) understand (?:our|us|this|what we)",
        "favorite favourite fave special better understand understands mature talk get connection bond like"
        " different",
    ),
    phrase(
        "excessive personal attention",
        r"(?:can'?t|couldn'?t|cannot) stop thinking about (?:you|u|today|us|our|last night|what (?:we|you))"
        r"|i (?:think about|dream about|miss) (?:you|u|our talks|our time|our chats|talking to you"
        r"|seeing you)|(?:are you|r u|you|u) (?:still )?(?:up|awake)\?|can'?t sleep|(?:todavia|aun"
        r"|sigues) (?:estas |sigues )?despiert[oa]|no (?:dejo|puedo dejar) de pensar en (?:ti|hoy)",
        "thinking think dream miss up awake sleep despierto despierta pensar",
    ),
    phrase(
        "special-relationship language",
        r"me caes (?:muy |super )?bien|eres (?:muy |tan )?especial|(?:eres|es) mi (?:alumn[oa]|estudiante"
        r"|jugador[a]?) favorit[oa]|(?:ven|venga|acude|cuentame|dime|platicame) (?:a mi |conmigo )?en (?:vez"
        r"|lugar) de",
        "caes especial favorito favorita ven venga acude cuentame dime platicame",
    ),
)
_THIRD_PERSON = compile_pattern(r"her|him|ella|el")
# An offer turned down, or a promise not to keep a secret: "no te puedo llevar en mi carro", "no, no puedes
# venir a mi casa", "don't promise to keep it secret". Only a refusal right before the words counts.
_REFUSED = re.compile(
    r"(?<![a-z])(?:can'?t|cannot|won'?t|will not|not allowed to|(?:i'?m|i am) not (?:going to|gonna)"
    r"|(?:don'?t|do not|never) promise to|no (?:te |le |les |lo |la )?(?:puedo|puedes|puede|podemos|voy a))"
    r" (?:te |le |lo |la )?$"
)
_CAN = re.compile(r"(?:te |le |lo |la )?(?:puedo|puedes|puede|podemos) ")


class SecrecyRule:
    id = "content.secrecy"
    category = "secrecy"
    description = (
        "Boundary-crossing or grooming signals: secrets from parents, deleted messages, gifts, rides."
    )

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        canonical = text.canonical.text
        found = [f for f in find(_HIDE_FROM_FAMILY, text) if not _refused(canonical, f.start)]
        secrets = [f for f in find(_SECRET, text) if not _refused(canonical, f.start)]
        if secrets and not _SURPRISE.search(canonical):
            found.extend(secrets)
        for item in find(_DELETE, text):
            start, end = text.sentence_at(item.start)
            if search(_CORRECTION, canonical, start, end):
                continue  # "delete the schedule I sent Monday, it was the old one"
            if _THAT_MESSAGE.search(canonical, item.start, item.end) and _DATA_AT_RISK.search(canonical):
                continue
            found.append(item)
        if message.sender.role is Role.STUDENT:
            found.extend(f for f in find(_COVERING, text) if not _refused(canonical, f.start))
        students = message.student_recipients
        if len(students) <= 1:
            found.extend(find(_GIFT, text))
        # A parent who will pick their child up, or has the child ride with them, is a family's logistics.
        by_guardian = message.sender.role is Role.GUARDIAN
        for item in () if by_guardian else find(_CLOSE, text):
            if _refused(canonical, item.start):
                continue
            if students or _THIRD_PERSON.search(canonical, item.start, item.end):
                found.append(item)
        return [hit(self.category, f.label, text, f, Severity.HIGH) for f in distinct(found)]


def _refused(canonical: str, start: int) -> bool:
    if _CAN.match(canonical, start) and canonical[max(0, start - 3) : start] == "no ":
        return True  # "no | te puedo llevar": the match begins with the offer's modal
    return _REFUSED.search(canonical, max(0, start - 40), start) is not None
