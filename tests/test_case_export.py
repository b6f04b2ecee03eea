"""Case files, on both stores: an investigator's export holds each message as .eml and in one mbox, a
manifest, and inclusion proofs against a signed checkpoint for every record, its own audit record
included; `verify-export` checks it offline with the public key alone and names whatever was changed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import mailbox
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from archive.checkpoints import new_key_text, private_key, public_text
from archive.models import SearchQuery
from archive.store import Store
from gateway.archive_access import viewer
from gateway.case_export import CaseFile, ExportRefused, export, verify_export
from gateway.cli import main
from gateway.directory import Directory
from gateway.evidence import Notary
from tests.conftest import SAMPLE_DISTRICT, Downstream
from tests.mail import in_store
from tests.portal import FIELD, NGUYEN, REYES, PortalRelay, started

KEY_TEXT = new_key_text()
KEY = private_key(KEY_TEXT)


@pytest.fixture
async def portal(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[PortalRelay]:
    async for running in started(tmp_path, downstream, directory):
        yield running


def case_of(portal: PortalRelay, directory: Directory, email: str, query: SearchQuery) -> CaseFile:
    person = directory.by_email(email)
    assert person is not None
    who = viewer(person, portal.relay.settings, directory)

    async def run(store: Store) -> CaseFile:
        return await export(store, who, query, via="test", notary=Notary(store, KEY))

    return in_store(portal.relay.settings.archive.url, run)


def rewritten(content: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            new.writestr(item, change(data) if item == name else data)
    return out.getvalue()


async def test_a_case_file_holds_the_messages_and_proves_every_record(
    portal: PortalRelay, directory: Directory
) -> None:
    case = case_of(portal, directory, FIELD, SearchQuery())
    assert case.messages == 3 and case.proven
    assert verify_export(case.content, KEY.public_key()) == []
    with zipfile.ZipFile(io.BytesIO(case.content)) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        subjects = [m["subject"] for m in manifest["messages"]]
        assert subjects == ["Science fair", "Your essay", "Field trip"]
        first = opened.read(manifest["messages"][2]["file"])
        assert b"The bus leaves at seven." in first
        assert opened.read("manifest.csv").decode().splitlines()[0].startswith("file,sha256,message_id")
        mbox = Path(portal.relay.settings.data_dir) / "case.mbox"
        mbox.write_bytes(opened.read("case.mbox"))
    box = mailbox.mbox(mbox)
    try:
        assert [m["Subject"] for m in box] == ["Science fair", "Your essay", "Field trip"]
    finally:
        box.close()
    url = portal.relay.settings.archive.url
    exported = in_store(url, lambda store: store.records(kinds=["archive.exported"]))
    assert [r.payload["viewer"] for r in exported] == ["a-field"]
    assert exported[0].seq == manifest["export_record"]


async def test_any_change_to_a_case_file_is_named(portal: PortalRelay, directory: Directory) -> None:
    case = case_of(portal, directory, FIELD, SearchQuery(words=("bus",)))
    with zipfile.ZipFile(io.BytesIO(case.content)) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    first = manifest["messages"][0]["file"]

    edited = rewritten(case.content, first, lambda eml: eml.replace(b"bus", b"van"))
    assert verify_export(edited, KEY.public_key()) == [
        f"{first}: does not match its SHA-256 in the manifest",
        f"{first}: its bytes are not the ones the archive recorded",
    ]

    def rehashed(data: bytes) -> bytes:  # the file changed and the manifest made to agree with it
        changed = json.loads(data)
        with zipfile.ZipFile(io.BytesIO(edited)) as opened:
            changed["messages"][0]["sha256"] = hashlib.sha256(opened.read(first)).hexdigest()
        return json.dumps(changed).encode()

    covered = rewritten(edited, "manifest.json", rehashed)
    assert verify_export(covered, KEY.public_key()) == [
        f"{first}: its bytes are not the ones the archive recorded"
    ]

    def forged(data: bytes) -> bytes:  # a record's bytes changed: its proof no longer reaches the root
        proofs = json.loads(data)
        record = proofs["records"][0]
        record["canonical"] = base64.b64encode(base64.b64decode(record["canonical"]) + b" ").decode()
        return json.dumps(proofs).encode()

    problems = verify_export(rewritten(case.content, "proofs.json", forged), KEY.public_key())
    assert problems and "inclusion proof does not verify" in problems[0]
    other = private_key(new_key_text()).public_key()
    assert verify_export(case.content, other) == ["the checkpoint's signature does not verify with this key"]


async def test_only_investigators_export_and_only_within_their_window(
    portal: PortalRelay, directory: Directory
) -> None:
    with pytest.raises(ExportRefused):
        case_of(portal, directory, REYES, SearchQuery())
    lakeview = case_of(portal, directory, NGUYEN, SearchQuery())
    with zipfile.ZipFile(io.BytesIO(lakeview.content)) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    assert [m["subject"] for m in manifest["messages"]] == ["Science fair"]


async def test_the_command_line_exports_and_verifies(
    portal: PortalRelay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "checkpoint.key"
    key_file.write_text(KEY_TEXT)
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[district]\ncompliance_contact = "{FIELD}"\n'
        f'[archive]\nurl = "{portal.relay.settings.archive.url}"\ncheckpoint_key_file = "{key_file}"\n',
        encoding="utf-8",
    )
    investigator = tmp_path / "investigator.toml"  # a machine with the public key only
    investigator.write_text(f'[archive]\ncheckpoint_public_key = "{public_text(KEY.public_key())}"\n')

    def chaperone(settings: Path, *args: str) -> int:
        return main(["--config", str(settings), *args])

    assert await asyncio.to_thread(chaperone, config, "roster", "import", str(SAMPLE_DISTRICT)) == 0
    case = tmp_path / "case.zip"
    assert await asyncio.to_thread(chaperone, config, "archive", "export", "--out", str(case), "bus") == 0
    assert "2 messages, with proofs against a signed checkpoint" in capsys.readouterr().out
    assert await asyncio.to_thread(chaperone, investigator, "archive", "verify-export", str(case)) == 0
    assert "verified" in capsys.readouterr().out
    case.write_bytes(rewritten(case.read_bytes(), "messages/00001.eml", lambda eml: eml + b"\r\n"))
    assert await asyncio.to_thread(chaperone, investigator, "archive", "verify-export", str(case)) == 1
    assert "messages/00001.eml: does not match its SHA-256" in capsys.readouterr().out
