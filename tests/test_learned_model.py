"""The learned detector: the shipped model file, how it scores, how it explains, and that identity words
never raise a score by themselves (fairness)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.context import Context
from policies.decision import Action
from policies.engine import Engine
from policies.learned import features as features_module
from policies.learned import model as model_module
from policies.learned.features import features, tokens
from policies.learned.model import ContentModel, load_model, packaged_path
from policies.message import Message, Party
from policies.pack import load_pack
from policies.parties import Roster
from policies.text import normalise

SHIPPED = load_model()
ZONE = ZoneInfo("America/Chicago")
needs_model = pytest.mark.skipif(SHIPPED is None, reason="no model file built (make model)")
TEACHER, STUDENT = "dreyes@nusd.example.org", "spatel@students.nusd.example.org"


def tiny_model(flag: float = 0.5, hold: float = 0.8, damping: float = 0.0) -> ContentModel:
    """A hand-made model: 'threat' reads "regret" and "<re" and the pair "you will"."""
    vocabulary = ["w:regret", "c:<re", "b:you will", "w:hello"]
    weights = np.zeros((4, 2), dtype=np.float32)
    weights[:, 0] = [3.0, 0.5, 2.0, -1.0]
    return ContentModel(
        vocabulary=vocabulary,
        weights=weights,
        idf=np.array([2.0, 1.0, 1.5, 1.0], dtype=np.float32),
        intercept=np.array([-1.0, -3.0], dtype=np.float32),
        categories=("threat", "sexual"),
        flag=np.array([flag, flag], dtype=np.float32),
        hold=np.array([hold, hold], dtype=np.float32),
        metadata={"test": True},
        damping=damping,
    )


def reference_logit(model: ContentModel, text: str, column: int) -> float:
    """The score as training computes it: x_f = tf_f·idf_f / sqrt(Σ tf_g·idf_g² + damping)."""
    counts: dict[int, int] = {}
    for feature in features(text):
        if feature in model.rows:
            counts[model.rows[feature]] = counts.get(model.rows[feature], 0) + 1
    if not counts:
        return float(model.intercept[column])
    norm = (sum(tf * float(model.idf[row]) ** 2 for row, tf in counts.items()) + model.damping) ** 0.5
    dot = sum(
        tf * float(model.idf[row]) * float(model.coefficients[row, column]) for row, tf in counts.items()
    )
    return dot / norm + float(model.intercept[column])


@pytest.mark.parametrize("damping", [0.0, 25.0])
@pytest.mark.parametrize("text", ["you will regret this", "hello hello regret", "nothing known here", ""])
def test_scores_match_the_training_formula_word_by_word(text: str, damping: float) -> None:
    model = tiny_model(damping=damping)
    logit = reference_logit(model, text, 0)
    assert model.scores(text).of("threat") == pytest.approx(1 / (1 + np.exp(-logit)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["you", "will", "regret", "hello", "rex", "re", "x", "Will", "you'll"]), max_size=12
    )
)
def test_any_text_over_the_models_words_scores_as_training_computes(words: list[str]) -> None:
    model = tiny_model(damping=5.0)  # its pair's words ("you will") are known only as a pair
    text = " ".join(words)
    logit = reference_logit(model, text, 0)
    assert model.scores(text).of("threat") == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-5)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_an_ascii_text_is_cut_into_the_words_the_unicode_pattern_finds(text: str) -> None:
    assert tokens(text) == features_module._TOKEN.findall(text)


def test_a_long_text_is_scored_by_its_worst_window_and_windows_add_up() -> None:
    model = tiny_model()
    filler = " ".join(["hello"] * 200)
    text = f"{filler} you will regret {filler}"
    whole = 1 / (1 + np.exp(-reference_logit(model, text, 0)))
    window_text = " ".join(tokens(text)[180:220])
    assert model.scores(text).of("threat") > whole  # diluted as a whole, not in its window
    start, end = model.scores(text).windows[0]
    best = " ".join(tokens(text)[start:end])
    expected = 1 / (1 + np.exp(-reference_logit(model, best, 0)))
    assert model.scores(text).of("threat") == pytest.approx(expected)
    assert "regret" in window_text


def test_damping_keeps_a_text_of_one_weak_word_near_the_intercept() -> None:
    plain, damped = tiny_model(), tiny_model(damping=25.0)
    assert damped.scores("hello").of("threat") > plain.scores("hello").of("threat")  # weight -1, pulled to b
    assert damped.scores("rex").of("threat") < plain.scores("rex").of("threat")  # a weak positive, likewise


def test_explain_names_the_words_that_raised_the_score() -> None:
    model = tiny_model()
    scores = model.scores("hello you will regret it")
    assert model.explain(scores, "threat")[:2] == ["regret", "you will"]


def test_a_saved_model_loads_with_the_same_scores_and_the_same_bytes(tmp_path: Path) -> None:
    model = tiny_model()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    model.save(first)
    model.save(second)
    assert first.read_bytes() == second.read_bytes()  # reproducible: the digest names the model
    loaded = ContentModel.load(first)
    assert loaded.digest.startswith("sha256:") and loaded.metadata == {"test": True}
    assert loaded.damping == model.damping
    assert loaded.scores("you will regret").values == pytest.approx(model.scores("you will regret").values)


def test_endless_new_words_do_not_grow_memory_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "_WORD_CACHE_LIMIT", 50)
    model = tiny_model()
    for batch in range(20):
        model.scores(" ".join(f"w{batch}x{i}" for i in range(30)))
    assert len(model._cached) <= 50


# --- the shipped model in the engine ------------------------------------------------------------------


@pytest.fixture
def context(directory: Roster) -> Context:
    return Context(roster=directory, timezone=ZONE)


def message(body: str, context: Context) -> Message:
    return Message(
        message_id="m-1",
        channel="email",
        sender=Party(TEACHER, context.roster.by_email(TEACHER)),
        recipients=(Party(STUDENT, context.roster.by_email(STUDENT)),),
        sent_at=datetime(2026, 10, 14, 15, 0, tzinfo=UTC),
        subject="Practice",
        body=body,
    )


@needs_model
def test_the_shipped_model_is_in_the_package_and_every_decision_names_it(context: Context) -> None:
    assert packaged_path().is_file() and SHIPPED is not None
    assert SHIPPED.metadata["messages"] >= 4000
    decision = Engine(load_pack("default")).evaluate(message("See you at practice.", context), context)
    assert set(decision.detectors.values()) == {SHIPPED.digest}
    assert decision.to_json()["detectors"]


# Identity words must never raise a score by themselves: each template is read with each word.
IDENTITY_WORDS = [
    "gay", "lesbian", "trans", "Muslim", "Jewish", "Christian", "Black", "Latino", "immigrant", "disabled",
    "autistic", "deaf", "Mexican", "Asian", "queer", "bisexual", "refugee", "Catholic",
]  # fmt: skip
TEMPLATES = [
    "The {} student club meets Tuesday after school in room 204.",
    "We are proud of our {} students who presented at the assembly today.",
    "Please welcome Sam, a {} student joining our biology class this week.",
    "El club de estudiantes {} se reúne el martes después de clases.",
    "Our library added new books by {} authors for the reading challenge.",
]


@needs_model
@pytest.mark.parametrize("template", TEMPLATES)
def test_identity_words_never_change_the_decision_by_themselves(template: str, context: Context) -> None:
    engine = Engine(load_pack("default"))
    decisions = {
        word: engine.evaluate(message(template.format(word), context), context)
        for word in ["new", *IDENTITY_WORDS]
    }
    baseline = decisions["new"]
    assert baseline.action is Action.DELIVER
    for word, decision in decisions.items():
        assert decision.action is baseline.action, (word, [f.reason for f in decision.findings])


CLASSIC_FALSE_POSITIVES = [
    "Heads up: Thursday's chemistry test is a killer, so start reviewing tonight.",
    "Great game! We had 14 shots on goal and the keeper made some amazing saves.",
    "Secret Santa gifts are due in the front office by Friday, $10 limit.",
    "Red Ribbon Week is drug awareness week: wear red on Monday.",
    "Shoot me an email if you have questions about the lab report.",
    "Flu shots are available at the nurse's office this week.",
    "El tiro libre de Sam en el partido fue increíble.",
]


@needs_model
@pytest.mark.parametrize("text", CLASSIC_FALSE_POSITIVES)
def test_the_classic_false_positives_are_delivered(text: str, context: Context) -> None:
    decision = Engine(load_pack("default")).evaluate(message(text, context), context)
    assert decision.action is Action.DELIVER, [f.reason for f in decision.findings]


@needs_model
def test_a_veiled_threat_without_a_violent_word_is_held_and_explained(context: Context) -> None:
    engine = Engine(load_pack("default"))
    text = "Keep talking to the principal about me and you'll regret it. I know where you park."
    decision = engine.evaluate(message(text, context), context)
    learned = [f for f in decision.findings if f.rule == "model.threat"]
    assert decision.action is Action.HOLD and learned and learned[0].evidence
    assert learned[0].citation == load_pack("default").rule("content.threat").settings.citation


def test_a_learned_finding_between_the_thresholds_is_only_flagged(tmp_path: Path, context: Context) -> None:
    path = tmp_path / "tiny.npz"
    tiny_model(flag=0.3, hold=0.99).save(path)
    from policies.pack import with_rule_options

    engine = Engine(with_rule_options(load_pack("default"), "model.", model_file=path))
    decision = engine.evaluate(message("you will regret", context), context)
    learned = [f for f in decision.findings if f.rule == "model.threat"]
    assert learned and learned[0].action is Action.FLAG and decision.action is Action.FLAG
    held = Engine(with_rule_options(load_pack("default"), "model.", model_file=path, hold_at=0.35))
    assert held.evaluate(message("you will regret", context), context).action is Action.HOLD


def test_the_canonical_text_is_what_the_model_reads() -> None:
    assert tokens(normalise("Qué ONDA, u r s3xy 😍").canonical.text) == [
        "que",
        "onda",
        "u",
        "r",
        "sexy",
        "😍",
    ]
    assert sum(f.startswith("c:") for f in features("hola")) == 9  # 3-, 4- and 5-grams of "<hola>"


def test_training_is_reproducible(tmp_path: Path) -> None:
    """`make model` twice on the same corpus gives the same bytes, so the digest in a decision names a model
    anyone can rebuild. Two small batches of two writers stand in for the corpus."""
    from gateway.commands.model_cmd import REPOSITORY_CORPUS
    from policies.learned import training

    corpus = tmp_path / "batches"
    corpus.mkdir()
    for name in ("a1.jsonl", "c1.jsonl"):
        (corpus / name).write_bytes((REPOSITORY_CORPUS / name).read_bytes())
    digests = []
    for attempt in range(2):
        out = tmp_path / f"model-{attempt}.npz"
        trained = training.train(corpus)
        trained.model.save(out)
        digests.append(ContentModel.load(out).digest)
        assert trained.model.metadata["batches"] == ["a1", "c1"]
    assert digests[0] == digests[1]
