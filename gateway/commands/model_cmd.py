"""`chaperone policy train` and `chaperone policy export-reviews`: the learned detector's life cycle.

`train` builds the shipped content model from the labelled batches in ``corpus/batches`` (README:
"Learning from reviewers") and prints how it scores on writers it never saw; `--compare` measures every
candidate the same way first. `export-reviews` writes reviewers' verdicts as labelled corpus lines, so a
district can retrain on its own decisions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gateway.commands.running import with_store
from gateway.config import load_settings
from gateway.review_export import reviewed_examples
from policies.learned.model import packaged_path

REPOSITORY_CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "batches"


def add_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = actions.add_parser("train", help="build the learned content model from the labelled corpus")
    train.add_argument("--corpus", type=Path, default=REPOSITORY_CORPUS, help="folder of *.jsonl batches")
    train.add_argument("--out", type=Path, default=None, help="model file (default: the packaged one)")
    train.add_argument("--candidate", default=None, help="default: the one README's comparison chose")
    train.add_argument("--compare", action="store_true", help="measure every candidate, then train")
    train.set_defaults(run=_train)
    export = actions.add_parser("export-reviews", help="reviewers' verdicts as labelled corpus lines")
    export.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    export.set_defaults(run=_export)


def _train(args: argparse.Namespace) -> int:
    try:
        from policies.learned import training
    except ImportError as exc:
        print(f"chaperone: training needs scikit-learn ({exc}); pip install '.[train]'", file=sys.stderr)
        return 1
    if args.compare:
        print(_comparison(training, args.corpus))
    started = time.perf_counter()
    trained = training.train(args.corpus, args.candidate or training.DEFAULT_CANDIDATE)
    out = args.out or packaged_path()
    trained.model.save(out)
    print(f"messages: {len(trained.examples)} ({trained.dropped} near-duplicates dropped)")
    print(_held_out_table(training, trained.examples, trained.scores, trained.thresholds))
    digest = type(trained.model).load(out).digest
    print(f"model: {out} ({out.stat().st_size:,} bytes, {digest}) in {time.perf_counter() - started:.1f} s")
    return 0


def _held_out_table(training: Any, examples: list[Any], scores: Any, thresholds: Any) -> str:
    """Recall at the flag and hold thresholds on writers the model never saw, and false positives."""
    y = training.labels(examples)
    clean = np.array([not e.categories for e in examples])
    spanish = np.array([e.spanish for e in examples])
    lines = [
        "held out by writer (leave-one-writer-out):",
        f"{'category':<18}{'support':>8}{'flag at':>9}{'recall':>8}{'hold at':>9}{'recall':>8}"
        f"{'clean FP':>10}{'es recall':>11}",
    ]
    flagged_any = np.zeros(len(examples), dtype=bool)
    for column, category in enumerate(training.CATEGORIES):
        positive = y[:, column] == 1
        flag, hold = thresholds.flag[column], thresholds.hold[column]
        flagged = scores[:, column] >= flag
        flagged_any |= flagged
        recall_es = _share(flagged[positive & spanish].sum(), (positive & spanish).sum())
        recall = _share(flagged[positive].sum(), positive.sum())
        lines.append(
            f"{category:<18}{positive.sum():>8}{flag:>9.3f}{recall:>8}"
            f"{hold:>9.3f}{_share((scores[positive, column] >= hold).sum(), positive.sum()):>8}"
            f"{_share(flagged[clean].sum(), clean.sum()):>10}{recall_es:>11}"
        )
    lines.append(f"clean messages with any model finding: {_share(flagged_any[clean].sum(), clean.sum())}")
    return "\n".join(lines)


def _comparison(training: Any, corpus: Path) -> str:
    """Every candidate, scored on writers it never saw: recall at the chosen thresholds, false
    positives, and the cost of scoring one message."""
    examples, _ = training.distinct_examples(corpus)
    y = training.labels(examples)
    clean = np.array([not e.categories for e in examples])
    lines = [f"{'candidate':<22}{'macro recall':>13}{'min recall':>11}{'clean FP':>10}{'µs/message':>12}"]
    for name, candidate in training.CANDIDATES.items():
        scores = training.out_of_writer_scores(examples, candidate)
        thresholds = training.choose_thresholds(examples, scores)
        flagged = scores >= np.array(thresholds.flag)
        recalls = [flagged[y[:, c] == 1, c].mean() for c in range(len(training.CATEGORIES))]
        model = training.fit(examples, candidate)
        texts = [e.text for e in examples[:2000]]
        for text in texts:
            model.scores(text)
        started = time.perf_counter()
        for text in texts:
            model.scores(text)
        cost = (time.perf_counter() - started) / len(texts) * 1e6
        lines.append(
            f"{name:<22}{np.mean(recalls):>13.3f}{min(recalls):>11.3f}"
            f"{flagged[clean].any(axis=1).mean():>10.3f}{cost:>12.0f}  {candidate.notes}"
        )
    return "\n".join(lines)


def _share(part: Any, whole: Any) -> str:
    return f"{part / whole:.3f}" if whole else "n/a"


def _export(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    try:
        lines = with_store(settings, reviewed_examples)
    except Exception as exc:  # the store's own errors differ by backend; all say why
        print(f"chaperone: cannot read the archive: {exc}", file=sys.stderr)
        return 1
    with args.out.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} reviewed messages written to {args.out}")
    return 0
