"""The learned detector, one rule per content category: ``model.threat`` finds what ``content.threat``
misses when it is phrased in a way no pattern knows (veiled, in slang, in Spanish), and so on.

Every rule reads the same scores (``policies.learned``: computed once per message). A score at or above
the category's ``hold`` threshold is a finding with the rule's action (the pack: hold, citing the same
clause as the category's rule); between ``flag`` and ``hold`` it is at most a flag: delivered, and listed
for a reviewer. A finding names the words that raised the score most, since a model has no span to point
at. The thresholds are the model's own, chosen on held-out writers; a pack may set its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from policies.context import Context
from policies.decision import Action, Severity
from policies.learned.model import ContentModel, Scores, load_model
from policies.message import Message
from policies.rules import Hit
from policies.text import normalise

_last: tuple[ContentModel, str, Scores] | None = None  # the message just scored: eight rules ask in a row


def _scores(model: ContentModel, message: Message) -> Scores:
    global _last
    if _last is not None and _last[0] is model and _last[1] is message.text:
        return _last[2]
    scores = model.scores(normalise(message.text).canonical.text)
    _last = (model, message.text, scores)
    return scores


class LearnedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    flag_at: float | None = Field(default=None, gt=0, lt=1)  # default: the model's threshold
    hold_at: float | None = Field(default=None, gt=0, lt=1)
    model_file: Path | None = None  # a district's own model (`chaperone policy train`); default: shipped


class _Learned:
    category: str
    Options = LearnedOptions
    sure = Severity.MEDIUM  # the severity of a score above the hold threshold

    def __init__(self, options: LearnedOptions | None = None) -> None:
        self.options = options or LearnedOptions()
        self.model = load_model(self.options.model_file)
        self.digest = self.model.digest if self.model is not None else None
        self.description = f"The learned detector's {self.category} score, above its threshold."
        if self.model is not None and self.category in self.model.categories:
            self.column: int | None = self.model.categories.index(self.category)
            self.flag_at = self.options.flag_at or self.model.flag[self.category]
            self.hold_at = max(self.flag_at, self.options.hold_at or self.model.hold[self.category])
        else:
            self.column = None

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        model = self.model
        if model is None or self.column is None or not message.text:
            return ()
        scores = _scores(model, message)
        score = scores.values[self.column]
        if score < self.flag_at:
            return ()
        words = model.explain(scores, self.category)
        sure = score >= self.hold_at
        said = ", ".join(f"'{w}'" for w in words) or "the message as a whole"
        return (
            Hit(
                reason=f"{self.category} (learned detector, score {score:.2f}; words weighing most: {said})",
                severity=self.sure if sure else Severity.LOW,
                evidence="; ".join(words),
                at_most=None if sure else Action.FLAG,
            ),
        )


class LearnedProfanity(_Learned):
    id = "model.profanity"
    category = "profanity"
    # A score says "profane", not how strongly: strong words are the rules' to grade (content.profanity), so
    # the pack's lenient action for adults applies to every learned profanity finding.
    sure = Severity.LOW


class LearnedHarassment(_Learned):
    id = "model.harassment"
    category = "harassment"


class LearnedThreat(_Learned):
    id = "model.threat"
    category = "threat"


class LearnedSexual(_Learned):
    id = "model.sexual"
    category = "sexual"


class LearnedSubstances(_Learned):
    id = "model.substances"
    category = "substances"


class LearnedSecrecy(_Learned):
    id = "model.secrecy"
    category = "secrecy"


class LearnedConfidential(_Learned):
    id = "model.confidential"
    category = "confidential"


class LearnedPersonalChannel(_Learned):
    id = "model.personal_channel"
    category = "personal_channel"
