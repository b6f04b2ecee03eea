"""The honest figure: rules and model on writers the model never saw.

For each writer (a batch's letter: all of one writer's batches are held out together), a model is trained
on every other writer's batches and the whole engine (rules, that model, and both together) decides the
held-out writer's messages. The thresholds are the shipped model's, which were themselves chosen on
leave-one-writer-out scores (``training``). The outcomes of all writers are then scored as one corpus:
this is what ``chaperone policy eval corpus/batches --held-out`` prints and README reports beside the
dev-set figure.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from policies.context import Context
from policies.corpus import CorpusCase, read_corpus
from policies.engine import Engine
from policies.evaluation import LEARNED, Outcome, outcomes_by_detector
from policies.learned import training
from policies.learned.model import load_model
from policies.pack import Pack, with_rule_options


def held_out_outcomes(
    directory: Path, pack: Pack, context: Context, candidate: str = training.DEFAULT_CANDIDATE
) -> tuple[list[CorpusCase], dict[str, dict[str, Outcome]]]:
    batches = sorted(directory.glob("*.jsonl"))
    examples, _ = training.distinct_examples(directory)  # as the shipped model was trained
    cases: list[CorpusCase] = []
    seen: dict[str, dict[str, Outcome]] = {"rules": {}, "model": {}, "combined": {}}
    writers = sorted({_writer(batch) for batch in batches})
    shipped = load_model()
    flag = None if shipped is None else [shipped.flag[c] for c in training.CATEGORIES]
    hold = None if shipped is None else [shipped.hold[c] for c in training.CATEGORIES]
    with tempfile.TemporaryDirectory() as scratch:
        for writer in writers:
            training_set = [e for e in examples if e.writer != writer]
            model = training.fit(training_set, training.CANDIDATES[candidate], flag=flag, hold=hold)
            path = Path(scratch) / f"without-{writer}.npz"
            model.save(path)
            engine = Engine(with_rule_options(pack, LEARNED, model_file=path))
            held = [case for b in batches if _writer(b) == writer for case in read_corpus(b, context.roster)]
            for name, outcomes in outcomes_by_detector(engine, held, context).items():
                seen[name].update(outcomes)
            cases.extend(held)
    return cases, seen


def _writer(batch: Path) -> str:
    return training.writer_of(batch.stem)
