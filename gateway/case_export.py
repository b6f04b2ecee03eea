"""A case file: what an investigator hands on, checkable offline by whoever receives it.

``export`` writes a zip of the messages a search finds, within the investigator's window:

- ``messages/<n>.eml`` each message as received (an e-mail's exact bytes; a text rendered as a plain
  message), and ``case.mbox`` all of them in one mailbox;
- ``manifest.json`` and ``manifest.csv``: for each message, its file and that file's SHA-256, its archived
  body digest, sender, subject, decision and time;
- ``proofs.json``: the signed checkpoint, and for each message's records (message, decision, copies,
  statuses, reviews) and for the export's own audit record, the record's canonical bytes and its
  inclusion proof against that checkpoint.

``verify_export`` checks such a zip with nothing but the district's public key: the checkpoint's
signature, every record's leaf hash and inclusion proof, every file against the manifest, and every
message's bytes against the body digest its archived record committed to.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import mailbox
import tempfile
import zipfile
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive import merkle
from archive.changes import Changes
from archive.checkpoints import Checkpoint, valid
from archive.models import ArchivedRecord, SearchHit, SearchQuery
from archive.records import Record, RecordKind, leaf_hash
from archive.store import Store
from gateway.archive_access import Viewer, Window
from gateway.archive_reader import asked
from gateway.evidence import Notary, entries
from gateway.models import new_id

FORMAT = "chaperone-case/1"
MAX_MESSAGES = 5000


class ExportRefused(Exception):
    """This person may not export (only the compliance officer and principals investigate)."""


@dataclass(frozen=True, slots=True)
class CaseFile:
    content: bytes  # the zip
    messages: int
    proven: bool  # every record is covered by the signed checkpoint inside


async def export(
    store: Store, viewer: Viewer, query: SearchQuery, *, via: str, notary: Notary | None
) -> CaseFile:
    if viewer.window not in (Window.COMPLIANCE, Window.PRINCIPAL):
        raise ExportRefused("only the compliance officer and principals export case files")
    limit = min(query.limit, MAX_MESSAGES)
    hits = await store.search(replace(query, scope=viewer.scope, limit=limit))
    # The audit record is named by the export's own id, so that the case file can prove it too.
    export_id = new_id("export-")
    payload = {
        "viewer": viewer.person.person_id, "window": str(viewer.window), "via": via,
        "query": asked(query), "messages": [h.message_id for h in hits],
    }  # fmt: skip
    changes = Changes()
    changes.append(Record(RecordKind.EXPORTED, export_id, payload))
    await store.commit(changes)
    records = await store.records(message_ids=[h.message_id for h in hits]) if hits else []
    [own] = await store.records(message_ids=[export_id])
    if notary is not None:
        # Signed after they were read, so it covers every one of them (copies may still be going out).
        await notary.checkpoint()
    heads = await store.checkpoints()
    proofs = await _proofs(store, [*records, own], heads[-1] if heads else None)
    files = [await _message_file(store, n, hit, records) for n, hit in enumerate(hits, 1)]
    proven = all(p["inclusion_proof"] is not None for p in proofs["records"])
    return CaseFile(_zip(files, proofs, own), len(hits), proven)


@dataclass(frozen=True, slots=True)
class _MessageFile:
    name: str
    eml: bytes
    body: bytes | None  # a text's exact bytes, beside its rendering (an e-mail's are its .eml)
    manifest: dict[str, Any]


async def _message_file(store: Store, n: int, hit: SearchHit, records: list[ArchivedRecord]) -> _MessageFile:
    mine = [r for r in records if r.message_id == hit.message_id]
    message = next((r.payload for r in mine if r.kind == str(RecordKind.MESSAGE)), {})
    decision = next((r.payload for r in mine if r.kind == str(RecordKind.DECISION)), {})
    digest = str(message.get("body_digest", ""))
    body = await store.body(digest)
    if body is None:
        eml = b""  # disposed of under the retention schedule: the records still prove what it was
    elif hit.channel == "sms":
        eml = _text_as_email(hit, message, body)
    else:
        eml = body
    name = f"messages/{n:05d}.eml"
    text = body if hit.channel == "sms" else None
    return _MessageFile(
        name,
        eml,
        text,
        {
            "file": name,
            "sha256": hashlib.sha256(eml).hexdigest(),
            "message_id": hit.message_id,
            "recorded_at": hit.recorded_at,
            "channel": hit.channel,
            "sender": hit.sender_id,
            "subject": hit.subject,
            "action": decision.get("action", hit.action),
            "body_digest": digest,
            "body_file": name if text is None else f"{name[:-4]}.txt",
            "records": [r.seq for r in mine],
        },
    )


def _text_as_email(hit: SearchHit, message: dict[str, Any], body: bytes) -> bytes:
    rendered = EmailMessage()
    rendered["From"] = str((message.get("sender") or {}).get("address") or hit.sender_id)
    rendered["To"] = ", ".join(str(r.get("address")) for r in message.get("recipients") or [])
    rendered["Date"] = format_datetime(datetime.fromisoformat(hit.recorded_at))
    rendered["Subject"] = "Text message"
    rendered["X-Chaperone-Message-Id"] = hit.message_id
    rendered.set_content(body.decode("utf-8", errors="replace"))
    return rendered.as_bytes()


async def _proofs(store: Store, records: list[ArchivedRecord], head: Checkpoint | None) -> dict[str, Any]:
    wanted = {r.seq for r in records}
    canonical: dict[int, bytes] = {}
    leaves: list[bytes] = []
    async with contextlib.aclosing(entries(store)) as reading:
        async for entry in reading:
            if head is not None and entry.seq > head.size:
                break
            leaves.append(entry.leaf_hash)
            if entry.seq in wanted:
                canonical[entry.seq] = entry.canonical
    covered = [seq for seq in sorted(wanted) if head is not None and seq <= head.size]
    paths = merkle.inclusion_proofs([seq - 1 for seq in covered], leaves) if covered else {}
    return {
        "checkpoint": None if head is None else head.to_json(),
        "records": [
            {
                "seq": seq,
                "canonical": base64.b64encode(canonical[seq]).decode() if seq in canonical else None,
                "inclusion_proof": [base64.b64encode(p).decode() for p in paths[seq - 1]]
                if seq - 1 in paths
                else None,
            }
            for seq in sorted(wanted)
        ],
    }


def _zip(files: list[_MessageFile], proofs: dict[str, Any], own: ArchivedRecord) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as case:
        manifest: dict[str, Any] = {
            "format": FORMAT, "export_record": own.seq, "messages": [f.manifest for f in files]
        }  # fmt: skip
        for f in files:
            case.writestr(f.name, f.eml)
            if f.body is not None:
                case.writestr(f.manifest["body_file"], f.body)
        case.writestr("manifest.json", json.dumps(manifest, indent=1))
        case.writestr("manifest.csv", _csv(manifest["messages"]))
        case.writestr("proofs.json", json.dumps(proofs, indent=1))
        case.writestr("case.mbox", _mbox([f.eml for f in files if f.eml]))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = ["file", "sha256", "message_id", "recorded_at", "channel", "sender", "subject", "action",
               "body_digest"]  # fmt: skip
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _mbox(messages: list[bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.mbox"
        box = mailbox.mbox(path)
        for raw in messages:
            box.add(raw)
        box.flush()
        box.close()
        return path.read_bytes()


def verify_export(content: bytes, public: Ed25519PublicKey) -> list[str]:
    """Everything wrong with a case file, in the order found; empty when it checks."""
    problems: list[str] = []
    with zipfile.ZipFile(io.BytesIO(content)) as case:
        manifest = json.loads(case.read("manifest.json"))
        proofs = json.loads(case.read("proofs.json"))
        if proofs["checkpoint"] is None:
            return ["no signed checkpoint: nothing in this case file is proven"]
        head = Checkpoint.from_json(proofs["checkpoint"])
        if not valid(head, public):
            problems.append("the checkpoint's signature does not verify with this key")
        proven: dict[int, dict[str, Any]] = {}
        for entry in proofs["records"]:
            seq, canonical = entry["seq"], entry["canonical"]
            if canonical is None or entry["inclusion_proof"] is None:
                problems.append(f"record {seq}: not covered by the checkpoint")
                continue
            raw = base64.b64decode(canonical)
            path = [base64.b64decode(p) for p in entry["inclusion_proof"]]
            if not merkle.verify_inclusion(seq - 1, head.size, leaf_hash(raw), path, head.root):
                problems.append(f"record {seq}: its inclusion proof does not verify")
                continue
            proven[seq] = json.loads(raw)
        if manifest.get("export_record") not in proven:
            problems.append("the export's own audit record is not proven")
        for item in manifest["messages"]:
            problems += _check_message(case, item, proven)
    return problems


def _check_message(
    case: zipfile.ZipFile, item: dict[str, Any], proven: dict[int, dict[str, Any]]
) -> list[str]:
    name = item["file"]
    problems = []
    if hashlib.sha256(case.read(name)).hexdigest() != item["sha256"]:
        problems.append(f"{name}: does not match its SHA-256 in the manifest")
    records = [proven[seq] for seq in item["records"] if seq in proven]
    message = next(
        (r for r in records if r["kind"] == "message" and r["message_id"] == item["message_id"]), None
    )
    if message is None:
        return [*problems, f"{name}: its message record is not proven"]
    body = case.read(item["body_file"])
    if body and "sha256:" + hashlib.sha256(body).hexdigest() != message["payload"].get("body_digest"):
        problems.append(f"{name}: its bytes are not the ones the archive recorded")
    return problems
