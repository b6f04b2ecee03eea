"""The policy engine and its packs: what a district's TOML can say, how its mistakes are reported, and how
findings add up to a decision. Stand-in rules keep these tests about the engine, not about any one rule."""

from __future__ import annotations

import json
import sys
import textwrap
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from policy_fixtures import SHARED, FixtureRoster, chicago, context, message, sample_roster
from pydantic import BaseModel, ConfigDict, PositiveInt

from policies import engine as engine_module
from policies.context import Context
from policies.corpus import CorpusCase, CorpusError, CorpusRoster, read_corpus
from policies.decision import Action, Severity
from policies.engine import Engine, evaluate
from policies.evaluation import CATEGORIES, Outcome, evaluate_outcomes, outcomes_of
from policies.message import Message
from policies.pack import Pack, PackError, load_pack, parse_pack
from policies.pack import line_of as pack_line_of
from policies.rules import Hit
from policies.rules.guardian_hours import GuardianHours
from policies.rules.media_consent import MediaConsent
from policies.rules.quiet_hours import QuietHours
from policies.rules.registration import UnknownRecipient, UnregisteredSender
from policies.rules.registry import RegistryError, RuleType, discover, rule_types
from policies.rules.scope import Scope
from policies.rules.sender_alignment import UnverifiedSender
from policies.rules.urgent import Urgent

SEEDS = SHARED / "seeds"
DEFAULT_TOML = Path(engine_module.__file__).parent / "packs" / "default.toml"
CONTENT_RULES = {
    "content.profanity", "content.harassment", "content.threat", "content.sexual", "content.substances",
    "content.secrecy", "content.confidential", "channel.personal_content",
}  # fmt: skip
LEARNED_RULES = {
    "model.profanity", "model.harassment", "model.threat", "model.sexual", "model.substances",
    "model.secrecy", "model.confidential", "model.personal_channel",
}  # fmt: skip
OUR_RULES = {
    "quiet_hours", "guardian_hours", "urgent", "channel.unregistered_sender", "channel.unknown_recipient",
    "media_consent", "scope", "content.unread", "channel.unverified_sender",
}  # fmt: skip

ROSTER = FixtureRoster()
DISTRICT = context(ROSTER)
ADULTS = ["priya.patel@example.net", "dreyes@nusd.example.org"]
STUDENT = ["spatel@students.nusd.example.org"]


# --- stand-in rules -----------------------------------------------------------------------------------


class Mild:
    """ "darn" is mild (LOW), "blast" is not (MEDIUM): enough to exercise lenient actions."""

    id = "test.mild"
    category = "profanity"
    description = "mild and less mild words"

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        for word, severity in (("darn", Severity.LOW), ("blast", Severity.MEDIUM)):
            start = message.text.find(word)
            if start >= 0:
                yield Hit(f"says {word}", severity, start, start + len(word))


class Shout:
    id = "test.shout"
    category = "shouting"
    description = "three exclamation marks"

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        start = message.text.find("!!!")
        return [Hit("shouts", Severity.HIGH, start, start + 3)] if start >= 0 else []


class Gift:
    id = "test.gift"
    category = "gift"
    description = "mentions a gift"

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        return [Hit("mentions a gift")] if "gift" in message.text else []


class Ride:
    id = "test.ride"
    category = "ride"
    description = "offers a ride"

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        return [Hit("offers a ride")] if "ride" in message.text else []


class WordOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word: str = "banana"
    times: PositiveInt = 1


class Word:
    id = "test.word"
    category = "word"
    description = "a configurable word"
    Options = WordOptions

    def __init__(self, options: WordOptions | None = None) -> None:
        self.options = options or WordOptions()

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.text.count(self.options.word) >= self.options.times:
            yield Hit(f"says {self.options.word}")


class Boom:
    id = "test.boom"
    category = "boom"
    description = "a rule with a bug"

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if "boom" in message.text:
            raise RuntimeError("rule bug")
        return []


KNOWN = {cls.id: RuleType.of(cls) for cls in (Mild, Shout, Gift, Ride, Word, Boom)}

PACK = """\
[pack]
name = "test"

[rules."test.mild"]
action = "hold"
lenient_action = "flag"
citation = "001_95c80dc478a8c271.txt: Employees shall not use obscene, profane or vulgar language."

[rules."test.shout"]
action = "block"
escalate = true
citation = "000_673ad5c5115008d7.txt: All online communication should be professional in content and tone."

[rules."test.gift"]
action = "hold"
requires = ["ride"]
citation = "x.txt: Gifts count only with rides."

[rules."test.ride"]
action = "flag"
citation = "x.txt: Rides are worth a look."

[rules."test.word"]
action = "defer"
citation = "x.txt: Bananas wait."

[rules."test.word".options]
word = "banana"
times = 2
"""


def pack(text: str = PACK, source: str = "pack.toml") -> Pack:
    return parse_pack(text, source, KNOWN)


def to_adults(body: str) -> Message:
    return message(ROSTER, "dreyes@nusd.example.org", ADULTS, chicago(2026, 10, 5, 12), body=body)


def to_student(body: str) -> Message:
    return message(ROSTER, "dreyes@nusd.example.org", STUDENT, chicago(2026, 10, 5, 12), body=body)


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


def error_of(text: str, source: str = "pack.toml") -> str:
    with pytest.raises(PackError) as caught:
        pack(text, source)
    return str(caught.value)


# --- the default pack ---------------------------------------------------------------------------------


def test_the_default_pack_loads_with_every_content_rule_and_ours() -> None:
    default = load_pack("default")
    assert {rule.id for rule in default.rules} == CONTENT_RULES | LEARNED_RULES | OUR_RULES
    assert default.source.endswith("default.toml")


def test_every_rule_in_the_default_pack_quotes_a_sentence_of_its_seed_exactly() -> None:
    rules = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))["rules"]
    assert set(rules) == CONTENT_RULES | LEARNED_RULES | OUR_RULES
    for rule_id, settings in rules.items():
        seed, _, sentence = settings["citation"].partition(": ")
        assert (SEEDS / seed).is_file(), f"{rule_id} cites {seed}, which is not a seed"
        assert sentence in (SEEDS / seed).read_text(encoding="utf-8"), f"{rule_id}: not quoted exactly"
        assert sentence.endswith((".", ")")), f"{rule_id}: cite the whole sentence"


def test_the_default_pack_holds_content_escalates_danger_and_lets_mild_profanity_between_adults_through() -> (
    None
):
    rules = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))["rules"]
    assert all(rules[rule_id]["action"] == "hold" for rule_id in CONTENT_RULES | LEARNED_RULES)
    assert {r for r, s in rules.items() if s.get("escalate")} == {
        f"{kind}.{category}" for kind in ("content", "model") for category in ("threat", "sexual", "secrecy")
    }
    assert (
        rules["content.profanity"]["lenient_action"] == rules["model.profanity"]["lenient_action"] == "flag"
    )
    # the learned detector cites, for each category, the clause its rule cites
    for category in ("profanity", "harassment", "threat", "sexual", "substances", "secrecy", "confidential"):
        assert rules[f"model.{category}"]["citation"] == rules[f"content.{category}"]["citation"]
    expected = {"quiet_hours": "defer", "guardian_hours": "defer", "urgent": "flag", "scope": "flag"}
    expected |= {
        "channel.unregistered_sender": "block",
        "channel.unknown_recipient": "block",
        "media_consent": "hold",
        "content.unread": "hold",
        "channel.unverified_sender": "hold",
    }
    assert {r: rules[r]["action"] for r in OUR_RULES} == expected


def test_evaluate_without_a_pack_uses_the_default_pack() -> None:
    late = message(ROSTER, "dreyes@nusd.example.org", STUDENT, chicago(2026, 10, 5, 22, 30))
    decision = evaluate(late, DISTRICT)
    assert decision.action is Action.DEFER
    assert decision.release_at == chicago(2026, 10, 6, 6)


# --- mistakes in a pack, named by file, line and key --------------------------------------------------


def test_an_unknown_rule_id_is_an_error_naming_its_line() -> None:
    text = PACK + '\n[rules."test.typo"]\naction = "hold"\ncitation = "x.txt: y."\n'
    assert error_of(text).startswith(f"pack.toml:{line_of(text, 'test.typo')}: rules.test.typo: unknown rule")


def test_an_unknown_action_names_the_line_and_the_key() -> None:
    text = PACK.replace('action = "block"', 'action = "explode"')
    error = error_of(text)
    assert error.startswith(f"pack.toml:{line_of(text, 'explode')}: rules.test.shout.action: ")
    assert "'deliver', 'flag', 'defer', 'hold' or 'block'" in error


def test_a_rule_without_a_citation_is_an_error_at_its_table() -> None:
    text = PACK.replace('citation = "x.txt: Rides are worth a look."\n', "")
    assert (
        error_of(text) == f"pack.toml:{line_of(text, 'test.ride')}: rules.test.ride.citation: Field required"
    )


def test_a_citation_must_name_its_source_and_sentence() -> None:
    text = PACK.replace('"x.txt: Bananas wait."', '"Bananas wait"')
    assert error_of(text).startswith(f"pack.toml:{line_of(text, 'Bananas wait')}: rules.test.word.citation:")


def test_a_bad_option_names_the_option_line() -> None:
    text = PACK.replace("times = 2", "times = 0")
    error = error_of(text)
    assert error.startswith(f"pack.toml:{line_of(text, 'times = 0')}: rules.test.word.options.times: ")
    assert "greater than 0" in error


def test_an_unknown_option_names_its_line() -> None:
    text = PACK.replace("times = 2", "tims = 2")
    assert (
        error_of(text) == f"pack.toml:{line_of(text, 'tims')}: rules.test.word.options.tims: unknown option"
    )


def test_options_given_inline_are_found_too() -> None:
    text = PACK.split('[rules."test.word".options]')[0].replace(
        'citation = "x.txt: Bananas wait."', 'citation = "x.txt: Bananas wait."\noptions = { times = -1 }'
    )
    assert error_of(text).startswith(
        f"pack.toml:{line_of(text, 'options =')}: rules.test.word.options.times:"
    )


def test_options_for_a_rule_that_takes_none_are_an_error() -> None:
    text = PACK + '\n[rules."test.ride".options]\nspeed = 3\n'
    table = line_of(text, '[rules."test.ride".options]')
    assert error_of(text) == f"pack.toml:{table}: rules.test.ride.options: this rule takes no options"


def test_requiring_a_category_no_rule_has_is_an_error() -> None:
    text = PACK.replace('requires = ["ride"]', 'requires = ["rides"]')
    error = error_of(text)
    assert error == f"pack.toml:{line_of(text, 'requires')}: rules.test.gift.requires: " + (
        "no rule has the category 'rides'"
    )


def test_an_unknown_key_in_a_rule_names_its_line() -> None:
    text = PACK.replace("escalate = true", "escalate = true\nescalte = false")
    assert error_of(text) == f"pack.toml:{line_of(text, 'escalte')}: rules.test.shout.escalte: unknown key"


def test_broken_toml_names_the_line() -> None:
    text = PACK.replace("times = 2", "times = = 2")
    assert error_of(text).startswith(f"pack.toml:{line_of(text, 'times = = 2')}: invalid TOML: ")


def test_a_missing_pack_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"nowhere\.toml: no such policy pack"):
        load_pack(str(tmp_path / "nowhere.toml"), KNOWN)


def test_the_line_finder_reads_quoted_and_dotted_keys() -> None:
    text = '[pack]\nname = "x"\n\n[rules."a.b"]\naction = "hold"\n[rules."a.b".options]\nstart = "06:00"\n'
    assert pack_line_of(text, ("rules", "a.b", "options", "start")) == 7
    assert pack_line_of(text, ("rules", "a.b", "action")) == 5
    assert pack_line_of(text, ("rules", "a.b", "citation")) == 4  # missing: its table
    assert pack_line_of('rules.x.action = "hold"\n', ("rules", "x", "action")) == 1


# --- what a district can change -----------------------------------------------------------------------


def test_a_district_can_turn_any_rule_off() -> None:
    on = Engine(pack()).evaluate(to_adults("stop!!!"), DISTRICT)
    off = Engine(pack(PACK.replace("escalate = true", "escalate = true\nenabled = false"))).evaluate(
        to_adults("stop!!!"), DISTRICT
    )
    assert on.action is Action.BLOCK
    assert off.action is Action.DELIVER and off.findings == ()


def test_a_district_can_change_a_rules_action() -> None:
    changed = pack(PACK.replace('action = "block"', 'action = "flag"'))
    assert Engine(changed).evaluate(to_adults("stop!!!"), DISTRICT).action is Action.FLAG


def test_a_district_file_can_extend_another_and_change_only_what_differs(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(PACK, encoding="utf-8")
    district = tmp_path / "district.toml"
    district.write_text(
        '[pack]\nextends = "base.toml"\n\n[rules."test.shout"]\nenabled = false\n\n'
        '[rules."test.word".options]\ntimes = 1\n',
        encoding="utf-8",
    )
    extended = load_pack(str(district), KNOWN)
    assert extended.name == "district" and extended.source == str(district)
    assert not extended.rule("test.shout").settings.enabled
    assert extended.rule("test.shout").settings.citation.startswith("000_")  # kept from the base
    assert extended.rule("test.word").options == WordOptions(word="banana", times=1)


def test_an_error_in_an_extending_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(PACK, encoding="utf-8")
    district = tmp_path / "district.toml"
    district.write_text(
        '[pack]\nextends = "base.toml"\n\n[rules."test.word".options]\ntimes = 0\n', encoding="utf-8"
    )
    with pytest.raises(PackError) as caught:
        load_pack(str(district), KNOWN)
    assert str(caught.value).startswith(f"{district}:5: rules.test.word.options.times: ")


def test_a_pack_that_extends_itself_is_an_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.write_text('[pack]\nextends = "loop.toml"\n', encoding="utf-8")
    with pytest.raises(PackError, match="extends itself"):
        load_pack(str(loop), KNOWN)


def test_options_reach_the_rule() -> None:
    engine = Engine(pack())
    assert engine.evaluate(to_adults("banana"), DISTRICT).action is Action.DELIVER  # times = 2
    assert engine.evaluate(to_adults("banana banana"), DISTRICT).action is Action.DEFER


# --- requires -----------------------------------------------------------------------------------------


def test_a_rule_that_requires_a_category_counts_only_alongside_it() -> None:
    engine = Engine(pack())
    alone = engine.evaluate(to_adults("a small gift for you"), DISTRICT)
    assert alone.findings == ()
    together = engine.evaluate(to_adults("a small gift and a ride home"), DISTRICT)
    assert [f.rule for f in together.findings] == ["test.gift", "test.ride"]
    assert together.action is Action.HOLD


def test_requirements_chain_so_a_dropped_rule_cannot_satisfy_another() -> None:
    chained = pack(
        PACK.replace(
            'citation = "x.txt: Rides are worth a look."', 'citation = "x.txt: R."\nrequires = ["shouting"]'
        )
    )
    engine = Engine(chained)
    assert engine.evaluate(to_adults("a gift and a ride"), DISTRICT).findings == ()
    assert {f.rule for f in engine.evaluate(to_adults("a gift and a ride!!!"), DISTRICT).findings} == {
        "test.gift",
        "test.ride",
        "test.shout",
    }


# --- lenient actions ----------------------------------------------------------------------------------


def test_mild_words_between_adults_are_flagged_not_held() -> None:
    decision = Engine(pack()).evaluate(to_adults("darn printer"), DISTRICT)
    assert decision.action is Action.FLAG
    assert decision.findings[0].severity is Severity.LOW


def test_mild_words_to_a_student_are_held() -> None:
    assert Engine(pack()).evaluate(to_student("darn printer"), DISTRICT).action is Action.HOLD


def test_mild_words_to_an_address_the_roster_does_not_know_are_held() -> None:
    msg = message(
        ROSTER, "dreyes@nusd.example.org", ["someone@gmail.com"], chicago(2026, 10, 5, 12), body="darn"
    )
    assert Engine(pack()).evaluate(msg, DISTRICT).action is Action.HOLD


def test_stronger_words_between_adults_are_held() -> None:
    engine = Engine(pack())
    assert engine.evaluate(to_adults("blast it"), DISTRICT).action is Action.HOLD
    assert (
        engine.evaluate(to_adults("darn, blast it"), DISTRICT).action is Action.HOLD
    )  # every hit must be mild


# --- findings and the decision ------------------------------------------------------------------------


def test_the_decision_is_the_most_severe_action_of_its_findings() -> None:
    decision = Engine(pack()).evaluate(to_student("darn!!! banana banana"), DISTRICT)
    assert {f.action for f in decision.findings} == {Action.HOLD, Action.BLOCK, Action.DEFER}
    assert decision.action is Action.BLOCK


def test_a_clean_message_is_delivered_with_no_findings() -> None:
    decision = Engine(pack()).evaluate(to_student("See you in class."), DISTRICT)
    assert decision.action is Action.DELIVER and decision.findings == ()


def test_a_finding_carries_the_packs_citation_escalation_and_the_evidence_it_quotes() -> None:
    msg = to_adults("Please stop!!! now")
    [finding] = Engine(pack()).evaluate(msg, DISTRICT).findings
    assert (finding.rule, finding.category, finding.severity) == ("test.shout", "shouting", Severity.HIGH)
    assert finding.citation.startswith("000_673ad5c5115008d7.txt: All online communication")
    assert finding.escalate is True
    assert finding.evidence == "!!!" == msg.text[finding.start : finding.end]


def test_evidence_offsets_count_from_the_subject() -> None:
    msg = message(
        ROSTER, "dreyes@nusd.example.org", ADULTS, chicago(2026, 10, 5, 12), subject="Hi!!!", body="darn"
    )
    findings = {f.rule: f for f in Engine(pack()).evaluate(msg, DISTRICT).findings}
    assert (findings["test.shout"].start, findings["test.shout"].evidence) == (2, "!!!")
    assert (findings["test.mild"].start, findings["test.mild"].evidence) == (7, "darn")


def test_rules_run_in_id_order_whatever_the_order_of_the_file() -> None:
    tables = PACK.split("\n[rules.")
    shuffled = tables[0] + "".join("\n[rules." + t for t in reversed(tables[1:]))
    msg = to_student("darn!!! banana banana, a gift and a ride")
    first = Engine(pack()).evaluate(msg, DISTRICT)
    again = Engine(pack(shuffled)).evaluate(msg, DISTRICT)
    assert [f.rule for f in first.findings] == [
        "test.gift",
        "test.mild",
        "test.ride",
        "test.shout",
        "test.word",
    ]
    assert (first.action, first.findings) == (again.action, again.findings)
    # The decision names the pack by the digest of its file as written: a reordered file is another file.
    assert first.made_by["pack"] != again.made_by["pack"]


def test_a_rule_that_raises_is_a_bug_and_is_not_swallowed() -> None:
    buggy = pack(PACK + '\n[rules."test.boom"]\naction = "hold"\ncitation = "x.txt: y."\n')
    with pytest.raises(RuntimeError, match="rule bug"):
        Engine(buggy).evaluate(to_adults("boom"), DISTRICT)


def test_evaluate_takes_a_pack() -> None:
    assert evaluate(to_adults("stop!!!"), DISTRICT, pack()).action is Action.BLOCK


# --- the registry -------------------------------------------------------------------------------------


def test_the_registry_finds_every_rule_module_of_the_package() -> None:
    installed = rule_types()
    assert OUR_RULES <= set(installed)
    assert list(installed) == sorted(installed)
    assert installed["quiet_hours"].category == "quiet_hours"
    assert (
        installed["guardian_hours"].cls.__module__ == "policies.rules.guardian_hours"
    )  # not quiet hours twice


@pytest.fixture
def rule_package(tmp_path: Path) -> Iterator[Path]:
    package = tmp_path / "district_rules"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    yield package
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("district_rules")]:
        del sys.modules[name]


RULE_MODULE = """
    class {name}:
        id = "{rule_id}"
        category = "local"
        description = "a district's own rule"

        def __init__(self, options=None):
            pass

        def check(self, message, context):
            return []
"""


def test_adding_a_rule_means_adding_a_module(rule_package: Path) -> None:
    (rule_package / "bell.py").write_text(textwrap.dedent(RULE_MODULE.format(name="Bell", rule_id="bell")))
    assert list(discover("district_rules")) == ["bell"]


def test_two_rules_with_one_id_are_an_error(rule_package: Path) -> None:
    (rule_package / "one.py").write_text(textwrap.dedent(RULE_MODULE.format(name="One", rule_id="same")))
    (rule_package / "two.py").write_text(textwrap.dedent(RULE_MODULE.format(name="Two", rule_id="same")))
    with pytest.raises(RegistryError, match="'same' is defined twice"):
        discover("district_rules")


# --- reading and scoring the labelled corpus ----------------------------------------------------------

CORPUS = SHARED / "corpus" / "messages-dev.jsonl"


def test_the_dev_corpus_reads_as_its_readme_counts_it() -> None:
    cases = read_corpus(CORPUS, CorpusRoster(sample_roster()))
    assert len(cases) == 250
    assert Counter(str(case.action) for case in cases) == {
        "deliver": 111,
        "hold": 111,
        "block": 15,
        "defer": 7,
        "flag": 6,
    }
    assert sum(not case.categories for case in cases) == 111
    assert sum(case.hard_negative for case in cases) == 58
    dev_067 = next(case for case in cases if case.id == "dev-067")
    assert dev_067.message.sender.person is not None and dev_067.message.sender.person.person_id == "t-okafor"
    assert [p.person.person_id for p in dev_067.message.recipients if p.person] == ["s-kim"]
    assert dev_067.categories == {"quiet_hours"} and dev_067.action is Action.DEFER


def test_only_the_corpus_people_are_registered_when_reading_the_corpus() -> None:
    # The sample district gives +13125550177 to a filler guardian; the corpus calls it a stranger's.
    assert CorpusRoster(sample_roster()).by_phone("+13125550177") == ()


def test_a_malformed_corpus_line_is_named(tmp_path: Path) -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:2]
    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + "\n" + lines[1].replace('"expect"', '"expected"') + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"broken\.jsonl:2: expect: Field required"):
        read_corpus(broken, ROSTER)


def _case(case_id: str, categories: set[str], action: Action, note: str = "") -> CorpusCase:
    return CorpusCase(case_id, to_adults("hello"), frozenset(categories), action, note)


def test_scoring_follows_the_readme_definitions() -> None:
    cases = [
        _case("a", {"threat"}, Action.HOLD),
        _case("b", {"threat", "profanity"}, Action.HOLD),
        _case("c", set(), Action.DELIVER, "Hard negative: 'shoot me an email'"),
        _case("d", set(), Action.DELIVER),
        _case("e", {"quiet_hours"}, Action.DEFER),
    ]
    outcomes = {
        "a": Outcome(categories=frozenset({"threat"}), action=Action.HOLD),
        "b": Outcome(categories=frozenset({"threat", "secrecy"}), action=Action.HOLD),
        "c": Outcome(categories=frozenset({"threat"}), action=Action.HOLD),
        "d": Outcome(categories=frozenset({"scope"}), action=Action.FLAG),  # not one of the twelve
        "e": Outcome(categories=frozenset(), action=Action.DELIVER),
    }
    ev = evaluate_outcomes(cases, outcomes)
    scores = {s.category: s for s in ev.categories}
    threat = scores["threat"]
    assert (threat.tp, threat.fp, threat.fn, threat.support) == (2, 1, 0, 2)
    assert (
        threat.precision == pytest.approx(2 / 3) and threat.recall == 1.0 and threat.f1 == pytest.approx(0.8)
    )
    assert threat.false_positives == ("c",)
    assert scores["profanity"].precision is None and scores["profanity"].false_negatives == ("b",)
    assert scores["secrecy"].recall is None and scores["secrecy"].f1 == 0.0
    assert ev.micro_precision == pytest.approx(2 / 4) and ev.micro_recall == pytest.approx(2 / 4)
    assert ev.macro_f1 == pytest.approx(0.8 / 12)
    assert ev.clean_with_findings == ("c", "d") and ev.false_positive_rate == 1.0
    assert ev.hard_negatives_with_findings == ("c",) and ev.hard_negative_false_positive_rate == 1.0
    assert ev.action_accuracy == pytest.approx(2 / 5)
    assert ev.confusion["deliver"] == {"deliver": 0, "flag": 1, "defer": 0, "hold": 1, "block": 0}
    assert ev.missed_enforcement == ("e",)
    table = ev.render_table()
    assert "FP threat: c" in table and "missed enforcement: 1 e" in table and "n/a" in table


def test_the_table_keeps_five_digit_counts_in_their_columns() -> None:
    # The training corpus is scored as one (policy eval corpus/batches --held-out): counts in the tens of
    # thousands must still read as separate numbers.
    cases = [_case(f"m{n}", {"threat"}, Action.HOLD) for n in range(10_000)]
    outcomes = {case.id: Outcome(categories=frozenset({"threat"}), action=Action.HOLD) for case in cases}
    table = evaluate_outcomes(cases, outcomes).render_table()
    micro = next(line for line in table.splitlines() if line.startswith("micro"))
    assert micro.split()[1:5] == ["10000", "10000", "0", "0"]


def test_scoring_matches_the_readme_reference_computation_on_the_dev_corpus() -> None:
    roster = CorpusRoster(sample_roster())
    cases = read_corpus(CORPUS, roster)
    ours = _every_rule_but_content()
    outcomes = outcomes_of(Engine(ours), cases, context(roster))
    ev = evaluate_outcomes(cases, outcomes)
    # The README's reference, verbatim in spirit: counts per category, FPR on clean, action accuracy.
    msgs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    tp, fp, fn = Counter[str](), Counter[str](), Counter[str]()
    for m in msgs:
        exp, got = set(m["expect"]["categories"]), set(outcomes[m["id"]].categories)
        for c in CATEGORIES:
            tp[c] += c in exp and c in got
            fp[c] += c not in exp and c in got
            fn[c] += c in exp and c not in got
    clean = [m for m in msgs if not m["expect"]["categories"]]
    fpr = sum(bool(outcomes[m["id"]].categories) for m in clean) / len(clean)
    acc = sum(outcomes[m["id"]].action == m["expect"]["action"] for m in msgs) / len(msgs)
    assert {s.category: (s.tp, s.fp, s.fn) for s in ev.categories} == {
        c: (tp[c], fp[c], fn[c]) for c in CATEGORIES
    }
    assert ev.false_positive_rate == pytest.approx(fpr) and ev.action_accuracy == pytest.approx(acc)
    # And what the rules of this task score on it: every channel category found, with no false alarm.
    for category in ("quiet_hours", "unregistered_sender", "unknown_recipient", "media_consent"):
        score = next(s for s in ev.categories if s.category == category)
        assert (score.fp, score.fn) == (0, 0), category


def _every_rule_but_content() -> Pack:
    text = DEFAULT_TOML.read_text(encoding="utf-8")
    tables = text.split("\n[rules.")
    kept = [t for t in tables[1:] if not t.startswith(('"content.', '"model.', '"channel.personal_content"'))]
    ours = (
        QuietHours, GuardianHours, Urgent, UnregisteredSender, UnknownRecipient, MediaConsent, Scope,
        UnverifiedSender,
    )  # fmt: skip
    known = {cls.id: RuleType.of(cls) for cls in ours}
    return parse_pack(tables[0] + "".join("\n[rules." + t for t in kept), "default-without-content", known)
