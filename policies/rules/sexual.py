"""Sexual content: sexual words and innuendo, and comments on a person's body or looks with a romantic or
sexual undertone ("you looked really good in that dress", "the hottest person in the lab", "you've really
filled out", "qué guapa te ves"), in either direction: a parent propositioning a coach counts too.

Health-class language never counts (sex ed, reproductive system, breast cancer walk, "visible to the naked
eye"), nor do words that only contain a sexual one (Gay-Lussac, blue-footed booby, titmouse). A hint on its
own ("cute pic", "con ese vestido", a winking emoji) is not enough; a hint next to innuendo is.
Seed 000: all online communication must adhere to the policy on prevention of sexual misconduct and abuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.lexicon import hits_in
from policies.message import Message
from policies.patterns import Found, Phrases, compile_pattern, distinct, find, hit, phrase, search
from policies.rules import Hit
from policies.text import normalise

_LOOKS = r"(?:hot|gorgeous|beautiful|sexy|stunning|handsome|fine|foxy|irresistible|smoking|smokin'?)"
_MILD_LOOKS = r"(?:good|great|nice|amazing|pretty|cute|lovely|incredible)"
_CLOTHES = (
    r"(?:dress|dresses|outfit|skirt|jeans|leggings|top|shirt|swimsuit|bathing suit|bikini|uniform|shorts"
    r"|pants|suit|tights|heels|yoga pants|crop top|sports bra|bra)"
)
_BODY = r"(?:legs|body|butt|ass|booty|bum|curves|figure|chest|boobs|breasts|abs|thighs|hips|lips|rack|eyes)"

_EXPLICIT = Phrases(
    phrase(
        "comment on a person's looks",
        r"%YOURE% (?:so |really |very |absolutely |super |such a |looking |lookin'? |damn "
        rf"|seriously )*(?!fine){_LOOKS}"
        # A bare "you're fine" reassures ("study the sheet and you're fine"); "so fine", "fine af" do not.
        r"|%YOURE% (?:so |really |very |absolutely |super |looking |lookin'? |damn |seriously )+fine"
        r"|%YOURE% fine(?= (?:af|asf|as hell|as fuck)|\s*[😍😘🔥😏😉🥵🤤])"
        r"|%YOURE% (?:so |really |very |absolutely |super |damn )*(?:pretty|cute)"
        r"(?=\s*(?:[.!?,😍😘🔥❤😉😏]|$))"
        r"|%YOURE% (?:such )?a (?:babe|hottie|snack|knockout|stunner|dime|smokeshow)",
        "hot gorgeous beautiful sexy stunning handsome fine foxy irresistible smoking smokin pretty cute"
        " babe hottie snack knockout stunner dime smokeshow",
    ),
    phrase(
        "comment on a person's looks",
        r"(?:you|u|she|he) (?:look|looked|looking|looks) (?:so |really |very |absolutely |super |damn "
        r"|seriously"
        rf" |incredibly )*(?:{_LOOKS}|{_MILD_LOOKS} in (?:that|those|your|this|the|her"
        rf"|his) (?:[a-z]+ )?{_CLOTHES})",
        "look looked looking looks",
    ),
    phrase(
        "comment on a person's looks",
        rf"(?:how|so|too) (?:{_LOOKS}|pretty|cute) (?:you|u|she) (?:look|looked|are|were|looks|is)",
        "hot gorgeous beautiful sexy stunning handsome fine foxy irresistible smoking smokin pretty cute",
    ),
    phrase(
        "comment on a person's looks",
        r"(?:hottest|sexiest|prettiest|cutest|most beautiful|best[ -]looking|finest"
        r"|most attractive) (?:person|girl|guy|boy|student|player|one|mom|dad|parent|teacher|lady|woman|man"
        r"|kid|in the|on the)",
        "hottest sexiest prettiest cutest beautiful best finest attractive",
    ),
    phrase(
        "comment on a person's body",
        rf"(?:your|ur|her|his) (?:[a-z]+ )?{_BODY} (?:look|looks|looked|is|are) (?:so |really "
        r"|super )?(?:amazing|great|hot|good|nice|sexy|fine|incredible|perfect|gorgeous|beautiful)|(?:you'?ve"
        r"|you have|you'?ve got|you got) (?:got )?(?:the|a|such a|quite a|a great|a nice|a hot) (?:body"
        r"|figure|bod)|what a (?:body|figure|bod)|(?:tienes|tiene|tienen) (?:unos|unas|un|una|los|las|el"
        r"|la) (?:ojos|piernas|cuerpo|labios|sonrisa|pompas|nalgas|boca|curvas) (?:preciosos|preciosas"
        r"|precioso|preciosa|hermosos|hermosas|hermoso|hermosa|bonitos|bonitas|lindos|lindas|divinos|divinas"
        r"|perfectos|perfectas|sexys|increibles)",
        "legs body butt ass booty bum curves figure chest boobs breasts abs thighs hips lips rack eyes bod"
        " ojos"
        " piernas cuerpo labios sonrisa pompas nalgas boca curvas",
    ),
    phrase(
        "comment on a person's body",
        r"(?:nice|nicest|great|greatest|best|sexy|hot|pretty|prettiest|beautiful|perfect|amazing|cute|cutest"
        rf"|gorgeous|lovely|killer|fine|tight|firm|sexiest|hottest) (?:[a-z]+ )?{_BODY}(?! (?:protection|exam"
        r"|check|scan))",
        "legs body butt ass booty bum curves figure chest boobs breasts abs thighs hips lips rack eyes",
    ),
    phrase(
        "comment on a person's body",
        r"(?:you'?ve|you have|she'?s|she has|he'?s|he has) (?:really |definitely |sure |certainly "
        r"|finally )?filled out(?! (?:the|a|an|your|this|that|my|our|his|her|their|all|every|it|them|these"
        r"|those|into)\b)",
        "filled",
    ),
    phrase(
        "comment on a person's clothing",
        rf"(?:those|that|these|your|her|his|the) (?:new |tight |little |short )?{_CLOTHES} (?:is|are|were"
        r"|was) (?:a |real |quite a |such a |really )*(?:distraction|distracting|something|killing me|hot"
        r"|sexy|fire|a sight)",
        "distraction distracting something killing hot sexy fire sight",
    ),
    phrase(
        "comment on a person's clothing",
        r"(?:wear|wearing|wore) (?:just|only|nothing but|less than) (?:the |a |your |that )?(?:sports bra|bra"
        r"|bikini|swimsuit|underwear|towel|leggings|thong)|(?:improves|improve|improved) the view"
        r"|the view from the (?:sideline|sidelines|bench|stands|bleachers)",
        "view bra bikini swimsuit underwear towel leggings thong",
    ),
    phrase(
        "sexual innuendo",
        r"(?:private|personal|special|extra|one-on-one|1-on-1) ['\"](?:training|lesson|lessons|tutoring"
        r"|session|sessions|help|practice|workout|attention)|(?:isn'?t|is not|not"
        r"|aren'?t) the only (?:workout|exercise|cardio|thing|sport) (?:you'?re|you are|he'?s|she'?s|they'?re"
        r"|you) (?:getting|doing|playing)|that'?s what she said",
        "training lesson lessons tutoring session sessions help practice workout attention exercise cardio"
        " sport"
        " said",
    ),
    phrase(
        "romantic advance",
        r"(?:get|have|catch|got) (?:you|u) (?:alone|all to myself|to myself)|(?:sleep|slept|sleeping"
        r"|sleeps) (?:with|w/) (?:her|him|me|you|u|them)(?! (?:in|at|during|on) (?:class|the bus))|i (?:love"
        r"|adore) (?:you|u)(?! (?:all|guys|both|too much to|for))|(?:have|got|had) a crush on (?:you|u)"
        r"|crushing on (?:you|u)|(?:falling|fallen|fell) (?:in love )?(?:for|with) (?:you|u)|kiss (?:you|u"
        r"|me)(?! goodbye)|be my (?:girlfriend|boyfriend|valentine|date)|go out with me|date night|(?:our"
        r"|a) date\?",
        "love adore crush crushing falling fallen fell kiss girlfriend boyfriend valentine date out alone"
        " myself"
        " sleep slept sleeping sleeps",
    ),
    phrase(
        "romantic advance",
        rf"(?:can'?t|couldn'?t|cannot) stop thinking about (?:you|u|how {_LOOKS} you|how (?:pretty|cute) you"
        r"|your (?:body|legs|smile|eyes|lips))",
        "thinking",
    ),
    phrase(
        "comment on a person's looks",
        r"whoever (?:took|takes|gets|dates|is with|goes with) (?:you|u)[^.!?\n]{0,20}lucky|(?:going to be"
        r"|gonna be|you'?re|such|a real) a (?:real )?(?:heartbreaker|lady ?killer|ladies'? man)",
        "whoever heartbreaker lady ladykiller ladies",
    ),
    phrase(
        "asking for pictures",
        r"send (?:me )?(?:a |some |more )?(?:pic|pics|picture|pictures|photo|photos|selfie|selfies"
        r"|snap) (?:of (?:you|yourself|u)\b(?! (?:and|with) (?:your|the) (?:project|team|group))|in (?:your|a"
        r"|that) (?:bikini|swimsuit|underwear|bra|towel)|in bed|tonight|later)",
        "pic pics picture pictures photo photos selfie selfies snap",
    ),
    # Spanish.
    phrase(
        "comment on a person's looks",
        r"(?:que|tan|muy|bien|super) (?:guapa|guapo|hermosa|hermoso|bonita|linda|sexy|rica|rico|buena|bella"
        r"|preciosa|precioso|chula|chulo|buenota|sabrosa) (?:te ves|estas|eres|se ve usted|esta usted"
        r"|es usted|luce usted|luces|andas)|(?:te ves|estas|eres|luces|andas|se ve usted|luce usted) (?:muy "
        r"|bien |tan |super |bastante |re )*(?:guapa|guapo|hermosa|hermoso|sexy|rica|rico|buena|buenota"
        r"|buenisima|linda|bella|preciosa|chula|sabrosa|bonita)",
        "guapa guapo hermosa hermoso bonita linda sexy rica rico buena bella preciosa precioso chula chulo"
        " buenota sabrosa buenisima",
    ),
    phrase(
        "asking for pictures",
        r"(?:manda|mandame|mandeme|envia|enviame|envieme|pasame|paseme) (?:una |unas |un )?(?:foto|fotos"
        r"|selfie|selfies|video|videos)(?: tuya| tuyas| de ti| de usted)?(?: en (?:traje de bano|bikini"
        r"|ropa interior|toalla|pijama|la cama)| sin ropa| desnud[oa])",
        "manda mandame mandeme envia enviame envieme pasame paseme",
    ),
    phrase(
        "romantic advance",
        r"me (?:gustas|encantas)|te amo|estoy enamorad[oa] de (?:ti|usted)|no (?:dejo"
        r"|puedo dejar) de pensar en (?:ti|usted|lo (?:guapa|hermosa|bonita|linda))",
        "gustas encantas amo enamorado enamorada pensar",
    ),
    phrase(
        "sexual innuendo",
        r"(?:entrenamiento|clase|clases|sesion|ayuda) (?:privad[oa]s?|particular|personal) ['\"]"
        r"|['\"](?:entrenamiento|clase|sesion|ayuda)s? (?:privad[oa]s?|particular|personal)['\"]",
        "privado privada privados privadas particular personal",
    ),
)
# Hints: not enough alone ("cute pic of your dog", "con ese vestido"), enough beside innuendo.
_HINTS = Phrases(
    phrase(
        "comment on a person's looks",
        r"cute (?:pic|picture|photo|selfie|pics|photos)|(?:in|con) (?:that|those|ese|esa|esos|esas|tu"
        r"|su) (?:[a-z]+ )?(?:dress|skirt|leggings|bikini|swimsuit|vestido|vestidito|falda|faldita|escote"
        r"|leggins|mallas|traje de bano|bikini|blusa)(?! (?:code|rehearsal|for the|para (?:la|el)))|(?:shorts"
        r"|leggings|jeans|dress|skirt|pants|top|outfit|uniform|shirt|swimsuit|bikini) (?:fit|fits|look|looks"
        r"|hug|hugs) (?:you )?(?:perfectly|so (?:good|well|nice|right)|great|amazing|nice|tight|just right)"
        r"|(?:have|having|some|a little) (?:a little |some )?fun (?:together|after|tonight|with me|later"
        r"|alone)|(?:se ve|te ves|luce|luces) (?:usted )?(?:muy |super |bien |tan )?(?:bien|guapa|guapo|linda"
        r"|bonita|hermosa|preciosa) hoy|(?:tomar|tomamos|tomemos|tomarnos) (?:un |una )?(?:cafe|algo|copa"
        r"|trago) (?:conmigo|juntos|juntas|a solas|tu y yo)|(?:conmigo|juntos|juntas) a solas"
        r"|(?:a )?hit with the (?:ladies|girls|boys|guys)|(?:cenamos|cenar|salir|salimos|vernos) (?:juntos"
        r"|juntas|tu y yo|usted y yo|a solas)|(?:dinner|drinks|coffee|a drink) (?:sometime|together|tonight"
        r"|just us|with me)|(?:my|mi) (?:husband|wife|esposo|esposa) (?:is|esta) (?:out of town|away|gone"
        r"|de viaje)|just (?:you and me|the two of us)|(?:wear|wearing|wore|put on) (?:that|those|your|the"
        r"|a) (?:[a-z]+ )?(?:bikini|swimsuit|dress|skirt|leggings|shorts|crop top|bra|tight [a-z]+)"
        r"|turn(?:ing)? (?:some )?heads|ojala (?:la|te|lo) (?:vea|viera|pueda ver) mas (?:seguido|a menudo)"
        r"|tell me everything|(?:your|ur) (?:girlfriend|boyfriend|gf|bf)",
        "cute dress skirt leggings bikini swimsuit vestido vestidito falda faldita escote leggins mallas"
        " traje"
        " blusa ojala everything girlfriend boyfriend gf bf heads shorts bra fit fits hug hugs fun just"
        " ladies"
        " girls boys guys juntos juntas solas sometime together husband wife esposo esposa hoy cafe conmigo",
    ),
)
_INNUENDO = compile_pattern(
    r"(?:if )?(?:you|u|ya) know what i mean|wink wink|[😏😘🔥🥵😍💋🍑🍆💦👅😈🤤]|;\)|😉|(?:si|ya"
    r"|tu) sabes (?:a )?(?:lo )?que me refiero|nadie se fijo en"
)
_EXCUSED_AFTER = {
    "naked": re.compile(r"^ (?:eye|mole|truth|flame|egg)"),
    "nude": re.compile(
        r"^[ -](?:figure|painting|sculpture|statue|model|colou?r|tone|beach|heels|lipstick|tights|hose"
        r"|stockings|leotard|shade)"
    ),
}
# Online-safety teaching names what it warns of: "a talk for parents on sexting", "sharing nude images of
# anyone under 18 is a crime". Those words count only outside such a sentence.
_SAFETY_TOPIC = frozenset({"sexting", "nude", "nudes", "fotos intimas", "sextortion", "sextorsion"})
_SAFETY_TEACHING = compile_pattern(
    r"safety|workshop|presentation|parent night|parents? (?:night|evening)|assembly|lesson|curriculum"
    r"|class(?:es)? on|how to talk|a crime|against the law|counselor|counsellor|risks|dangers|awareness"
    r"|seguridad|taller|charla|platica|presentacion|noche para padres|un delito|consejer[oa]|riesgos|peligros"
    r"|hablar con sus hijos"
)
_EXCUSED_BEFORE = {"desnudo": re.compile(r"ojo $"), "desnuda": re.compile(r"vista $")}


class SexualRule:
    id = "content.sexual"
    category = "sexual"
    description = "Sexual content or innuendo, or romantic or sexual comments on a person's body or looks."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        canonical = text.canonical.text
        found: list[Found] = []
        for word in hits_in(message.text, "sexual"):
            token = canonical[word.start : word.end]
            after = _EXCUSED_AFTER.get(token)
            before = _EXCUSED_BEFORE.get(token)
            if after is not None and after.search(canonical[word.end : word.end + 20]):
                continue
            if before is not None and before.search(canonical[max(0, word.start - 10) : word.start]):
                continue
            if token in _SAFETY_TOPIC and search(_SAFETY_TEACHING, canonical, *text.sentence_at(word.start)):
                continue
            found.append(Found("sexual language", word.start, word.end))
        found.extend(find(_EXPLICIT, text))
        if not found:
            # A hint needs company: innuendo beside it, or a second, different hint.
            hints = find(_HINTS, text)
            distinct_hints = {canonical[h.start : h.end] for h in hints}
            if hints and (_INNUENDO.search(canonical) or len(distinct_hints) > 1):
                found.extend(hints)
        return [hit(self.category, f.label, text, f, Severity.HIGH) for f in distinct(found)]
