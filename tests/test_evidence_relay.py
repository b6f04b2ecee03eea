"""The running relay signs checkpoints as records arrive; `chaperone archive verify`, `checkpoint`,
`prove` and `keygen` work on its archive from the command line, on both stores."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from archive import merkle
from archive.checkpoints import new_key_text, private_key, public_text
from gateway.cli import main
from gateway.directory import Directory
from gateway.service import running_relay
from tests.conftest import Downstream, give_passwords, relay_settings
from tests.mail import compose, eventually, in_store, raw_sql, submit

REYES, PATEL = "dreyes@nusd.example.org", "spatel@students.nusd.example.org"


async def chaperone(config: Path, *args: str) -> int:
    return await asyncio.to_thread(main, ["--config", str(config), *args])


async def test_the_relay_signs_checkpoints_and_the_cli_verifies_and_proves_them(
    tmp_path: Path, downstream: Downstream, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    key = new_key_text()
    key_file = tmp_path / "checkpoint.key"
    key_file.write_text(key)
    witness = tmp_path / "witness" / "checkpoints.jsonl"
    archive = {"checkpoint_key_file": key_file, "checkpoint_seconds": 0.2, "witness": witness}
    settings = relay_settings(tmp_path, downstream.port, archive=archive)
    await asyncio.to_thread(give_passwords, settings, REYES)
    async with running_relay(settings, directory) as relay:
        await submit(relay.port("submission"), REYES, [PATEL], compose(REYES, [PATEL]))
        await downstream.wait_for(2)
        await eventually(lambda: witness.exists() and witness.read_text().count("\n") >= 1)
        await asyncio.sleep(0.5)  # the delivery records, and their checkpoint
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[archive]\nurl = "{settings.archive.url}"\n'
        f'checkpoint_key_file = "{key_file}"\nwitness = "{witness}"\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert await chaperone(config, "archive", "verify") == 0
    assert "verified" in capsys.readouterr().out
    assert await chaperone(config, "archive", "prove", "2") == 0
    proof = json.loads(capsys.readouterr().out)
    head, leaf = proof["checkpoint"], base64.b64decode(proof["leaf_hash"])
    path = [base64.b64decode(p) for p in proof["inclusion_proof"]]
    assert merkle.verify_inclusion(1, head["size"], leaf, path, base64.b64decode(head["root"]))
    # An insider edits one record in the database, triggers out of the way.
    heads = in_store(settings.archive.url, lambda store: store.checkpoints())
    assert heads and heads[-1].size >= 4
    url = settings.archive.url
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER records_no_update")
        raw_sql(url, "UPDATE records SET canonical = CAST('{}' AS BLOB) WHERE seq = 2")
    else:
        raw_sql(url, "BEGIN; ALTER TABLE records DISABLE TRIGGER USER; "
                     "UPDATE records SET canonical = '{}'::bytea WHERE seq = 2; COMMIT")  # fmt: skip
    assert await chaperone(config, "archive", "verify") == 1
    out = capsys.readouterr().out
    assert "record 2: its bytes do not match its leaf hash (changed)" in out


async def test_keygen_prints_a_key_and_its_public_half(capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(main, ["archive", "keygen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[0].split("=", 1)[1].split("#")[0].strip()
    public = lines[1].split("=", 1)[1].strip()
    assert public_text(private_key(key).public_key()) == public


async def test_every_decision_names_the_pack_word_lists_and_model_that_made_it(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    from archive.records import RecordKind
    from policies.lexicon import wordlists_digest
    from policies.pack import load_pack
    from tests.mail import archive_rows

    pack = tmp_path / "district.toml"
    pack.write_text('[pack]\nextends = "default"\n\n[rules."content.threat"]\naction = "block"\n')
    settings = relay_settings(tmp_path, downstream.port, policy={"pack": str(pack)})
    await asyncio.to_thread(give_passwords, settings, REYES)
    async with running_relay(settings, directory) as relay:
        await submit(relay.port("submission"), REYES, [PATEL], compose(REYES, [PATEL]))
    [decision] = archive_rows(settings.archive.url, RecordKind.DECISION)
    made_by = decision["payload"]["made_by"]
    assert made_by == {"pack": load_pack(str(pack)).digest, "wordlists": wordlists_digest()}
    assert made_by["pack"] != load_pack("default").digest  # the district's own pack is told apart
    assert decision["payload"]["detectors"]  # the learned model, by digest
