"""Threats: threats of violence or harm, and intimidation, in either direction (a parent threatening a
teacher counts as much as a coach threatening a player).

Two kinds of evidence. Some phrases threaten on their own: "I'll break your legs", "I know where you live",
"watch your back", "bring a gun to school", "call immigration on you", "te voy a partir la cara". Others
are only threats after a condition: "you'll be sorry" or "it won't be pretty" are idle on their own, but
"If you tell anyone ... you'll be sorry" and "Fix the grade or ... it won't be pretty" are not. The
classic idioms stay out by construction: "shoot me an email", "a killer workout", "dying to see", "bomb
cyclone", "shots on goal", "break a leg", "matar el tiempo", "tiro libre".
Seed 004: threats are taken seriously and may be subject to law enforcement intervention.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.message import Message
from policies.patterns import Phrases, compile_pattern, distinct, find, hit, phrase, search
from policies.rules import Hit
from policies.text import normalise

# Up to three words between "I'll" and the harm ("I'll come over and hurt you"), none of them a negation.
_FILLER = r"(?:(?!not |never |n't )[a-z']+ ){0,3}"
_HARM = (
    r"(?:kill|murder|strangle|choke|stab|shoot|smack|slap|punch|hurt|drown|hang|end|destroy|bury|whoop|jump"
    r"|smash|wreck|knock out|beat up|strangle|snap)"
)
_BODY = (
    r"(?:legs?|arms?|necks?|face|faces|nose|jaw|teeth|skull|head|bones|fingers|kneecaps?|knees?|ribs|back"
    r"|throat|eyes?|hands?|spine)"
)
_PROPERTY = r"(?:tires|tyres|car|truck|windows?|house|windshield|mailbox)"

_STRONG = Phrases(
    phrase(
        "threat of physical harm",
        rf"(?:%I_WILL%|someone (?:should|will|is going to|is gonna|oughta)|somebody (?:should|will"
        rf"|is gonna)) {_FILLER}{_HARM} %PERSON%(?! (?:an?|the|a quick) (?:e-?mail|text|message|note|line"
        r"|reminder|invite|link|update|copy))(?! up| back| off| a )",
        "kill murder strangle choke stab shoot smack slap punch hurt drown hang end destroy bury whoop jump"
        " smash"
        " wreck knock beat snap",
    ),
    phrase(
        "threat of physical harm",
        r"%I_WILL% " + _FILLER + r"(?:beat|mess|fuck|rough|smack|knock) %PERSON% (?:up|around|out|senseless)"
        r"|beat(?:s|ing)? the (?:crap|shit|hell|living daylights|snot) out of %PERSON%|%I_WILL% "
        + _FILLER
        + r"(?:throw|toss|push|shove|drag|slam) %PERSON% (?:off|out of|down|through|into"
        r"|against|across|out the)",
        "beat beats beating mess fuck rough smack knock throw toss push shove drag slam",
    ),
    phrase(
        "threat of physical harm",
        r"%I_WILL% (?:(?!not |never )[a-z']+ ){0,3}(?:break|snap|smash|bust|crack|rip|knock|kick|slit|slash"
        r"|pop|stab|burn|key"
        rf"|torch|wreck|bash|cut) (?:in |off |out )?(?:%YOUR%|his|her|their) (?:[a-z]+ )?(?:{_BODY}"
        rf"|{_PROPERTY})",
        "break snap smash bust crack rip knock kick slit slash pop stab burn key torch wreck bash cut",
    ),
    phrase(
        "threat of physical harm",
        r"(?:break|snap|slash|slit|key|torch|smash|bash) %YOUR% (?:[a-z]+ )?(?:legs|neck|kneecaps"
        rf"|{_PROPERTY})"
        r"|kick %YOUR% (?:ass|butt|teeth in)",
        "break snap slash slit key torch smash bash kick",
    ),
    phrase(
        "telling someone to die",
        r"(?:go )?kill %YOU%self|kys|go die|drop dead(?! gorgeous)|(?:hope|wish) (?:you|u) (?:die|get hit"
        r"|get hurt|were dead)",
        "kill kys die dead hit hurt",
    ),
    phrase(
        "intimidation",
        r"(?:i|we) know where (?:you|u|he|she|they|your (?:family|kids?|son|daughter|mom|dad)) (?:live|lives"
        r"|sleep|sleeps|park|parks|go to school)",
        "live lives sleep sleeps park parks school",
    ),
    phrase("intimidation", r"watch (?:%YOUR%|his|her) back|sleep with one eye open", "back eye"),
    phrase(
        "intimidation",
        r"%YOU_WILL% pay for (?:this|that|it)|you'?ll wish (?:you|u) (?:had|were|never)",
        "pay wish",
    ),
    phrase(
        "intimidation",
        r"%I_WILL% " + _FILLER + r"make (?:you|u|him|her|them) (?:wish|regret|pay|sorry|suffer|bleed|beg)",
        "wish regret pay sorry suffer bleed beg",
    ),
    phrase(
        "intimidation",
        r"not the only thing (?:you|u|he|she)(?:'ll| will| are going to|'re going to| might| could)? (?:lose"
        r"|be losing|regret)",
        "lose losing regret",
    ),
    phrase(
        "intimidation",
        r"%YOURE% (?:so |gonna be |going to be )?(?:dead meat|a dead (?:man|woman)|so dead|dead)(?! tired"
        r"| serious| wrong| last| set| on| center| even| right| ahead| end| weight)",
        "dead",
    ),
    phrase("intimidation", r"or else(?=\s*(?:[.!?]|$))|there will be hell to pay", "else hell"),
    phrase(
        "threat of violence at school",
        r"shoot (?:this|the|that|our|your) (?:whole |entire |damn |fucking )?(?:school|place|class"
        r"|building) up|(?:me|te|le|les|lo|la) (?:vas|va|van) a conocer",
        "shoot conocer",
    ),
    phrase(
        "intimidation",
        r"make (?:%YOUR%|his|her|their) (?:life|lives|year) (?:a living hell|hell|miserable|a nightmare)"
        r"|%I_WILL% " + _FILLER + r"(?:ruin|destroy|end) (?:%YOUR%|his|her) (?:life|career|reputation)",
        "hell miserable nightmare ruin destroy end",
    ),
    phrase(
        "veiled threat",
        r"(?:people|kids|guys|teachers|coaches|parents|students) like (?:you|u) (?:get|end up|tend to get"
        r"|usually get) (?:hurt|hit|killed|beat up|beaten|jumped)|shame if something (?:happened"
        r"|were to happen|happens) to|something bad (?:might|could|will|is going to) happen to (?:you|u|your)"
        r"|(?:better )?(?:hope|pray) (?:i|we) (?:never|don'?t) (?:see|find|catch|run into) (?:you|u)|(?:hope"
        r"|wish) (?:someone|somebody|they|he|she) (?:[a-z]+ )?(?:beats|beat|hurts|hurt|kills|kill|jumps|jump"
        r"|stabs|shoots|punches|breaks)",
        "hurt hit killed beat beaten jumped shame bad hope pray wish",
    ),
    phrase(
        "intimidation",
        r"(?:i'?ll|i will|i'?m gonna|i'?m going to|we'?ll) be waiting (?:for (?:you|u|him|her) )?(?:by|at"
        r"|outside|near|behind|next to) (?:%YOUR%|his|her) (?:car|truck|house|home|front door|door)",
        "waiting",
    ),
    phrase(
        "intimidation",
        r"%I_WILL% "
        + _FILLER
        + r"(?:make sure|see to it|get|have) (?:that )?(?:you|u|she|he|they) (?:lose|loses"
        r"|get fired|gets fired|are fired|is fired|fired|never work|never teach)|get (?:you|u|her|him) fired",
        "fired lose loses work teach",
    ),
    phrase(
        "intimidation",
        r"(?:call|calling|called|report|reporting|reported) (?:ice|immigration|la migra"
        r"|homeland security)(?: on| about)?|get (?:you|your family|them|her|him) deported|have (?:you"
        r"|your family) deported",
        "ice immigration migra homeland deported",
    ),
    phrase(
        "threat of violence at school",
        r"(?:bring|bringing|brought|have|got|carry|carrying|pull|pulling|use) (?:a|my|his|her|the|some|dad'?s"
        r"|my dad'?s) (?:gun|knife|knives|weapon|pistol|rifle|blade|glock|piece) (?:to|into|at|on"
        r"|in) (?:school|class|campus|the school|practice|the game|you|him|her)",
        "gun knife knives weapon pistol rifle blade glock piece",
    ),
    phrase(
        "threat of violence at school",
        r"shoot up (?:the |this |that |our |your )?(?:school|class|place|building|cafeteria|gym)"
        r"|blow up (?:the |this |that |your )?(?:school|building|car|house)|(?:there'?s|there is|i planted"
        r"|i placed|i left) a bomb|bomb (?:the|this|that|your) (?:school|building|house)",
        "shoot blow bomb",
    ),
    phrase(
        "threat of physical harm",
        r"(?:kid|student|one|person|boy|girl|child|you)(?: [a-z'0-9]+){0,12} (?:is going|goes|will go"
        r"|gets thrown|is getting thrown|will be thrown|'?s going) out (?:the|a|that) window",
        "window",
    ),
    phrase(
        "threat of physical punishment",
        r"(?:run|running|runs|do|doing|sprints|laps|suicides|burpees|push-?ups|work|working|drill|drilling"
        r"|make) [^.!?\n]{0,30}(?:until|till|til|'til) (?:you|he|she|they|u) (?:puke|throw up|vomit|bleed"
        r"|pass out|collapse|drop|can'?t (?:walk|stand|breathe|move)|cry|beg)",
        "until till til",
    ),
    # Spanish.
    # Spanish: "lo voy a romper" may be a thing and "la voy a pegar" is gluing; "te" is always a person.
    phrase(
        "threat of physical harm",
        r"te (?:voy|vamos|va|van) a (?:matar|golpear|pegar|madrear|quebrar|reventar|partir|romper"
        r"|dar (?:una )?(?:golpiza|paliza|madriza|chinga))|(?:le|lo|la|los|las|les) (?:voy|vamos|va"
        r"|van) a (?:matar|golpear|madrear|dar (?:una )?(?:golpiza|paliza|madriza|chinga))|le (?:voy"
        r"|vamos) a pegar|(?:voy|vamos|va|van) a (?:(?:matar|golpear|madrear)(?:te|le|lo|la|los|las)|(?:pegar"
        r"|romper|partir|quebrar|reventar)(?:te|le))(?![a-z])|(?:te|le) (?:voy|vamos|va|van) a (?:partir"
        r"|romper|quebrar) (?:la cara|la madre|la boca|el hocico|los dientes|las piernas|el cuello)",
        "matar golpear pegar madrear quebrar reventar partir romper golpiza paliza madriza chinga matarte"
        " matarlo"
        " matarla matarlos golpearte golpearlo golpearla madrearte madrearlo pegarte pegarle romperte"
        " romperle"
        " partirte partirle quebrarte reventarte",
    ),
    phrase(
        "intimidation",
        r"me las (?:vas|va|van) a pagar|(?:se|se bien|sabemos|yo se) donde (?:vive|vives|viven)"
        r"|cuidate (?:la espalda|las espaldas)|cuidese (?:la espalda|las espaldas)|(?:lo|la|te|los|las) mato"
        r"|(?:no sabe|no sabes|you don'?t know|u don'?t know) (?:con quien|who) (?:se esta|te estas|you'?re"
        r"|ur) (?:metiendo|messing with|dealing with|talking to)",
        "pagar vive vives viven espalda espaldas mato metiendo messing dealing talking",
    ),
    phrase(
        "intimidation",
        r"(?:llame|llamar|llamo|llamen|llamaremos|llamare|reportar|reporte|reporto|reportaremos|avisar"
        r"|avise) a (?:inmigracion|la migra|migracion|ice)|(?:deportar|deporten|deportaran)(?:la|lo|los|las"
        r"|te)?",
        "inmigracion migra migracion ice deportar deporten deportaran deportarla deportarlo deportarlos"
        " deportarte",
    ),
)

# Idle alone, threats after a condition in the same sentence.
_CONSEQUENCES = Phrases(
    phrase(
        "threat after a condition",
        r"(?:%YOURE%|you|u|ur|he|she|he'?s|she'?s) (?:gonna |going to |will |'?ll |might |could |gon )?(?:get"
        r"|be|end up) (?:hurt|killed|beat up|beaten up|jumped|shot|stabbed|in the hospital)",
        "hurt killed beat beaten jumped shot stabbed hospital",
    ),
    phrase(
        "threat after a condition",
        r"(?:and|or|then) see what happens|what (?:happens|will happen|could happen|might happen) to (?:you|u"
        r"|him|her)|(?:you|u|one) never know what (?:could|might|can|will) happen"
        r"|(?:uno )?nunca (?:se )?sabe lo que (?:puede|pueda|podria) pasar|cuidese|cuidate|%I_WILL% (?:come"
        r"|go|show up) (?:down |over )?to (?:the|that|your) (?:school|classroom|house|practice|field)"
        r"|watch (?:yourself|your step|it)|(?:i|we) have friends (?:in|at|who)|answer to me|(?:will"
        r"|'?ll) deal with (?:you|u) (?:myself|personally)|(?:la|lo|los|te) (?:voy|vamos) a buscar",
        "watch friends answer deal buscar happens happen sabe cuidese cuidate come go show",
    ),
    phrase(
        "threat after a condition",
        r"%YOU_WILL% (?:really |seriously |definitely |so |both )*(?:regret|be sorry|pay|wish|be next"
        r"|get (?:it|what'?s coming)|be the one|all see|see what (?:happens|i (?:can|will|'?ll) do))",
        "regret sorry pay wish next coming one see",
    ),
    phrase(
        "threat after a condition",
        r"(?:won'?t|will not|isn'?t going to|is not going to|not going to|ain'?t gonna|wont) (?:be|end|look"
        r"|go) (?:pretty|well|nice|good)",
        "won wont ain isn not",
    ),
    phrase(
        "threat after a condition",
        r"%I_WILL% (?:[a-z']+ ){0,2}(?:bring|do) something|%I_WILL% be waiting|or else|i mean it"
        r"|i'?m not (?:joking|kidding)|try me|don'?t test me|(?:you|u) (?:won'?t|will not|wont"
        r"|aren'?t going to) like (?:what happens|it|the consequences|what i do)|(?:i'?m|i am) (?:coming"
        r"|going to come|gonna come) (?:down |over |up )?(?:to|for) (?:that|your|the|this) (?:classroom|class"
        r"|school|house|office|field|practice|game)|%I_WILL% make sure (?:everyone|everybody|the whole [a-z]+"
        r"|all the [a-z]+) (?:knows|finds out|hears)",
        "bring something waiting else mean joking kidding try test like coming come knows finds hears",
    ),
    phrase(
        "threat after a condition",
        r"(?:le|te|les) va a ir (?:muy |bien |super )?mal(?! en (?:el|la|los|las|sus|su) (?:examen|examenes"
        r"|clase|clases|escuela|materia|prueba|curso|tarea|boleta))|(?:te|se) (?:vas|va|van) a arrepentir"
        r"|(?:la|lo|te|los) (?:voy|vamos) a esperar|vas a ver|va a ver|ya (?:vera|veras|veran)",
        "mal arrepentir esperar ver vera veras veran",
    ),
)
# Conditions that make a consequence a threat: what the writer will do, or what the reader must not do.
# Not "if you don't study, you'll regret it": a natural consequence is advice.
_CONDITION = compile_pattern(
    r"if (?:i|we) (?:ever |catch|see|hear|find|have to)|if (?:you|u|he|she|they|[a-z]+) (?:ever|tell|tells"
    r"|say|says|talk|talks|report|reports|mention|mentions|snitch|snitches|rat|rats|cross|crosses|touch"
    r"|touches|embarrass|embarrasses|disrespect|disrespects|bench|benches|fail|fails|cut|cuts|keep|keeps"
    r"|do that|does that|try|tries|call|calls|mess|lay a|go to|complain|complains)|one more (?:time|practice"
    r"|game|word|chance|day|[a-z]+)|next time|again and|ever again|the next (?:kid|one|person|student|time)"
    r"|do that again|or (?:else|i'?ll|i will|i'?m|we'?ll|you'?ll)|unless|(?:tell|say|mention) (?:anyone"
    r"|anybody|a word|this)|miss (?:one|another)|si (?:lo|la|le|me|te|se|no|usted|vuelve|vuelves|sigue|sigues"
    r"|otra)|una vez mas|otra vez y|o si no|la proxima vez|(?:se|te|le|les) (?:lo )?advierto"
    r"|estas advertid[oa]|queda advertid[oa]|si (?:mi|su|tu)|(?:you'?ve|you have) been warned"
    r"|consider (?:yourself|this (?:your|a)) warn(?:ed|ing)|keep (?:it up|doing that|playing|talking|pushing)"
    r"|(?:you|u) (?:better|had better|'?d better)|or (?:ur|you'?re|u r|you)|if my (?:son|daughter|kid|child)"
    r"|i swear|i have friends|keep [a-z]+ing|if (?:this|it|that|the [a-z]+|my [a-z]+) (?:isn'?t|is not"
    r"|doesn'?t|does not|won'?t|aren'?t|gets|happens)"
)


_SAFETY = compile_pattern(
    r"careful|wear|shin ?guards|helmet|goggles|stretch|warm ?up|safe|safety|injur[a-z]*|slippery|ice|hydrate"
    r"|concussion|cuidado|casco"
)


# Spanish uses "matar" for laughing, asking, beating at a game and for schoolwork that is too much: "me mató
# de risa", "la voy a matar a preguntas", "te mato en fifa jaja", "esta unidad lo va a matar".
_KILLED_BY_LAUGHTER_OR_GAME = compile_pattern(
    r"de (?:la )?risa|a (?:preguntas|besos|abrazos|pellizcos)|en (?:el |la )?(?:fifa|juego|partido|madden|2k"
    r"|fortnite|minecraft|ajedrez|uno|domino|carreras?)|jaja[a-z]*|[😂🤣]"
)
# The work is the one that kills: its noun right before "lo va a matar", never "(after class) te voy a matar".
_KILLED_BY_WORK = compile_pattern(
    r"(?:unidad|examen|tarea|clase|calor|proyecto|materia|prueba|final|quimica|fisica|matematicas"
    r"|porcentajes|fracciones)(?: de [a-z]+)? $"
)
_FIRST_PERSON = compile_pattern(r"voy|vamos|mato")


def _spanish_hyperbole(canonical: str, start: int, end: int) -> bool:
    said = canonical[start:end]
    if "mat" not in said:
        return False
    if _KILLED_BY_LAUGHTER_OR_GAME.search(canonical[end : end + 30]):
        return True
    return not _FIRST_PERSON.search(said) and bool(
        _KILLED_BY_WORK.search(canonical[max(0, start - 30) : start])
    )


class ThreatRule:
    id = "content.threat"
    category = "threat"
    description = "Threats of violence or harm, and intimidation, from anyone on the message."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        canonical = text.canonical.text
        found = [f for f in find(_STRONG, text) if not _spanish_hyperbole(canonical, f.start, f.end)]
        consequences = find(_CONSEQUENCES, text)
        for item in consequences:
            # The condition may come a sentence earlier: "One more bad grade and ... You won't like it."
            start, end = text.sentence_at(item.start)
            previous, _ = text.sentence_at(max(start - 2, 0))
            if search(_SAFETY, text.canonical.text, start, end):
                continue  # "wear your shin guards or you'll get hurt" is care, not a threat
            if search(_CONDITION, text.canonical.text, previous, end) or len(consequences) > 1:
                found.append(item)
        return [hit(self.category, f.label, text, f, Severity.HIGH) for f in distinct(found)]
