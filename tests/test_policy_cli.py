"""`chaperone policy check` and `policy eval`: the engine on files, with the configured roster and pack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import SAMPLE_DISTRICT, SHARED

CORPUS = SHARED / "corpus" / "messages-dev.jsonl"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "chaperone.toml"
    path.write_text(f'data_dir = "{tmp_path}"\n[roster]\npath = "{SAMPLE_DISTRICT}"\n', encoding="utf-8")
    return path


def test_check_prints_one_json_decision_per_message(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afternoon = "2026-10-14T15:20:00-05:00"
    lines = [
        {"id": "a", "channel": "email", "from": "cokafor@nusd.example.org",
         "to": ["spatel@students.nusd.example.org"], "subject": "Practice",
         "body": "Great hustle today. Practice moves to 4pm.", "sent_at": afternoon},
        {"id": "b", "channel": "sms", "from": "+12025550112", "to": ["+12025550121"],
         "body": "Snap me @coach.chris so we can talk outside of school", "sent_at": afternoon},
    ]  # fmt: skip
    corpus = tmp_path / "messages.jsonl"
    corpus.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    assert main(["--config", str(config), "policy", "check", str(corpus), "--json"]) == 0
    decisions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["id"], d["action"]) for d in decisions] == [("a", "deliver"), ("b", "hold")]
    finding = decisions[1]["findings"][0]
    assert {"rule", "category", "severity", "action", "start", "end", "evidence", "citation"} <= set(finding)
    assert finding["category"] == "personal_channel"
    assert lines[1]["body"][finding["start"] : finding["end"]] == finding["evidence"]
    assert finding["citation"].startswith("00")  # a seed file


def test_check_reads_an_eml_at_its_date(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "late.eml"
    eml.write_bytes(
        b"From: Dana Reyes <dreyes@nusd.example.org>\r\nTo: spatel@students.nusd.example.org\r\n"
        b"Subject: Lab\r\nDate: Wed, 14 Oct 2026 22:30:00 -0500\r\n\r\nDon't forget the lab report.\r\n"
    )
    assert main(["--config", str(config), "policy", "check", str(eml)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("late: defer") and "quiet_hours" in table


def test_eval_scores_the_dev_corpus_and_enforces_a_bar(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--config",
                str(config),
                "policy",
                "eval",
                str(CORPUS),
                "--min-recall",
                "0.9",
                "--max-fp",
                "0.03",
            ]
        )
        == 0
    )
    report = capsys.readouterr().out
    assert "macro F1" in report and "confusion" in report
    assert main(["--config", str(config), "policy", "eval", str(CORPUS), "--max-fp", "0"]) == 1
    assert "false-positive rate" in capsys.readouterr().err


def test_a_broken_corpus_line_is_named(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "channel": "email"}\nnot json\n', encoding="utf-8")
    assert main(["--config", str(config), "policy", "eval", str(broken)]) == 1
    assert f"{broken}:1:" in capsys.readouterr().err
