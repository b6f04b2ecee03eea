"""The training corpus (corpus/batches) is well formed: what `chaperone policy train` learns from must say
what the shared corpus README says, or the model learns the mistakes. Every line of every batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.learned.training import CATEGORIES
from tests.conftest import SHARED

BATCHES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "batches").glob("*.jsonl"))
_ROSTER = (SHARED / "corpus" / "README.md").read_text(encoding="utf-8")


def _lines(batch: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in batch.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_corpus_is_large_broad_and_spanish_enough() -> None:
    lines = [line for batch in BATCHES for line in _lines(batch)]
    positives = {c: sum(c in line["expect"]["categories"] for line in lines) for c in CATEGORIES}
    clean = [line for line in lines if not line["expect"]["categories"]]
    spanish = [line for line in lines if line["note"].endswith(("Written in Spanish.", "Code-switched."))]
    assert len(lines) >= 4000
    assert min(positives.values()) >= 250, positives
    assert sum(line["note"].startswith("Hard negative") for line in clean) >= len(clean) / 2
    assert len(spanish) >= 0.2 * len(lines)
    assert {line["channel"] for line in lines} == {"email", "sms"}


@pytest.mark.parametrize("batch", BATCHES, ids=[b.stem for b in BATCHES])
def test_every_line_is_labelled_as_the_corpus_readme_says(batch: Path) -> None:
    meta = json.loads(batch.with_suffix(".meta.json").read_text(encoding="utf-8"))
    lines = _lines(batch)
    assert meta["batch"] == batch.stem and meta["messages"] == len(lines) and meta["voice"]
    ids = [line["id"] for line in lines]
    assert len(set(ids)) == len(ids) and all(i.startswith(f"{batch.stem}-") for i in ids)
    for line in lines:
        categories, action = line["expect"]["categories"], line["expect"]["action"]
        where = line["id"]
        assert set(categories) <= set(CATEGORIES), where
        assert line["channel"] in ("email", "sms") and line["body"] and line["note"], where
        assert (line["channel"] == "email") == bool(line.get("subject")), where
        for address in (line["from"], *line["to"]):
            assert f"| {address} |" in _ROSTER or f"{address} |" in _ROSTER, (where, address)
        assert action == ("deliver" if not categories else action), where
        assert action in (("deliver",) if not categories else ("hold", "flag")), where
        assert action != "flag" or categories == ["profanity"], where
