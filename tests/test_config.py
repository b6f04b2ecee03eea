"""Configuration: a district's file plus environment overrides, and errors an administrator can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chaperone.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_are_used(tmp_path: Path) -> None:
    path = write(tmp_path, '[district]\ntimezone = "America/Denver"\n[smtp]\nmax_recipients = 7\n')
    settings = load_settings(path)
    assert settings.district.timezone == "America/Denver"
    assert settings.smtp.max_recipients == 7


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[smtp]\nmax_recipients = 7\n")
    monkeypatch.setenv("CHAPERONE_SMTP__MAX_RECIPIENTS", "9")
    assert load_settings(path).smtp.max_recipients == 9


def test_invalid_value_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[district]\nname = "X"\n\n[smtp]\nmax_recipients = -1\n')
    with pytest.raises(ConfigError, match=rf"{path}:5: smtp.max_recipients: .*greater than 0"):
        load_settings(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[district]\ntimezon = "America/Chicago"\n')
    with pytest.raises(ConfigError, match=r":2: district.timezon: unknown key"):
        load_settings(path)


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[district]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(path)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[district\n")
    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML"):
        load_settings(path)


def test_secret_in_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[delivery]\ntarget = "smtp://mx:25"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match=r":3: \[delivery\] password: .*CHAPERONE_DELIVERY__PASSWORD"):
        load_settings(path)


def test_config_check_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[delivery]\ntarget = "smtp://mx.example.org:587"\n')
    monkeypatch.setenv("CHAPERONE_DELIVERY__PASSWORD", "hunter2")
    assert main(["--config", str(path), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert json.loads(out)["delivery"]["password"] == "**********"


def test_config_check_reports_errors_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[smtp]\nmax_recipients = 0\n")
    assert main(["--config", str(path), "config", "check"]) == 2
    assert "smtp.max_recipients" in capsys.readouterr().err


EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "chaperone.example.toml"


def test_the_example_config_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.smtp.submission == "0.0.0.0:587"
    assert settings.fanout.mode == "cc"


def test_the_example_config_documents_every_key() -> None:
    from pydantic import BaseModel

    from gateway.config import Settings

    text = EXAMPLE.read_text(encoding="utf-8")
    missing = []
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            missing += [f"{name}.{key}" for key in section.model_fields if f"{key}" not in text]
        elif name not in text:
            missing.append(name)
    assert missing == []


def test_a_list_in_the_environment_that_is_not_json_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAPERONE_DISTRICT__STAFF_DOMAINS", "nusd.example.org")
    assert main(["config", "check"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "Traceback" not in error
    assert "CHAPERONE_DISTRICT__STAFF_DOMAINS" in error and "JSON" in error
