"""`chaperone archive keygen|checkpoint|verify|prove`: the archive as evidence (gateway/evidence.py).

- ``keygen`` prints a new Ed25519 key for ``[archive] checkpoint_key`` and its public half.
- ``checkpoint`` signs the archive as it is now (a running relay does so every few seconds).
- ``verify`` recomputes every record and checkpoint; exit 1 and the problems, first bad record first.
- ``prove SEQ`` prints record SEQ's inclusion proof against the latest checkpoint, as JSON; ``prove
  --consistency OLD`` a consistency proof from the checkpoint of OLD records to the latest. Both check with
  ``archive.merkle.verify_inclusion`` / ``verify_consistency`` and the public key alone.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import Any, TypeVar

from archive import merkle
from archive.checkpoints import new_key_text, private_key, public_key, public_text
from archive.records import leaf_hash
from archive.store import Store
from gateway.commands import retention_cmd, search_cmd
from gateway.commands.running import with_store
from gateway.config import ConfigError, load_settings
from gateway.evidence import EvidenceError, Notary, entries
from gateway.verification import Verdict, verify, verify_openings

T = TypeVar("T")


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    archive = groups.add_parser(
        "archive", help="the archive as evidence: checkpoints, verify, proofs, legal holds, retention"
    )
    actions = archive.add_subparsers(dest="action", required=True)
    actions.add_parser("keygen", help="print a new checkpoint key and its public half").set_defaults(
        run=_keygen
    )
    actions.add_parser("checkpoint", help="sign the archive as it is now").set_defaults(run=_checkpoint)
    verifying = actions.add_parser(
        "verify", help="recompute every record and checkpoint; exit 1 on any problem"
    )
    verifying.add_argument("--public-key", help="the district's public key (default: from the config)")
    verifying.add_argument(
        "--openings", action="store_true",
        help="also hold every kept personal value to the commitment in its leaf (slower)",
    )  # fmt: skip
    verifying.add_argument(
        "--since", type=int, default=0, metavar="SIZE",
        help="the size of a checkpoint verified before: recompute only the records after it",
    )  # fmt: skip
    verifying.set_defaults(run=_verify)
    proving = actions.add_parser("prove", help="an inclusion or consistency proof, as JSON")
    proving.add_argument("seq", nargs="?", type=int, help="the record (its index, from 1)")
    proving.add_argument("--consistency", type=int, metavar="OLD", help="from the checkpoint of OLD records")
    proving.set_defaults(run=_prove)
    retention_cmd.add_actions(actions)
    search_cmd.add_actions(actions)


def _keygen(args: argparse.Namespace) -> int:
    key = new_key_text()
    print(f"checkpoint_key = {key}   # secret: CHAPERONE_ARCHIVE__CHECKPOINT_KEY or checkpoint_key_file")
    print(f"checkpoint_public_key = {public_text(private_key(key).public_key())}")
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    key = settings.archive.signing_key()
    if key is None:
        raise ConfigError("[archive] checkpoint_key (or checkpoint_key_file) is not set")
    try:
        made = with_store(
            settings, lambda store: Notary(store, private_key(key), settings.archive.witness).checkpoint()
        )
    except EvidenceError as error:
        print(f"not signed: {error}", file=sys.stderr)
        return 1
    print("nothing new to sign" if made is None else json.dumps(made.to_json(), indent=2))
    return 0


def _verify(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    text = args.public_key or settings.archive.checkpoint_public_key
    key = settings.archive.signing_key()
    public = public_key(text) if text else (private_key(key).public_key() if key else None)

    async def run(store: Store) -> Verdict:
        verdict = await verify(
            store, public, settings.archive.witness, since=args.since, url=settings.archive.url
        )
        if args.openings:
            await verify_openings(store, verdict)
        return verdict

    verdict = with_store(settings, run)
    for problem in verdict.problems:
        print(problem)
    unsigned = "" if public is not None else " (signatures not checked: no public key)"
    print(f"{verdict.records} records, {verdict.checkpoints} checkpoints: "
          f"{'verified' if verdict.ok else f'{len(verdict.problems)} problems'}{unsigned}")  # fmt: skip
    return 0 if verdict.ok else 1


def _prove(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def prove(store: Store) -> dict[str, Any]:
        heads = await store.checkpoints()
        if not heads:
            raise SystemExit("no checkpoint yet: `chaperone archive checkpoint` first")
        head = heads[-1]
        found = [entry async for entry in entries(store) if entry.seq <= head.size]
        leaves = [leaf_hash(entry.canonical) for entry in found]
        answer: dict[str, Any] = {"checkpoint": head.to_json()}
        if args.consistency is not None:
            old = next((c for c in heads if c.size == args.consistency), None)
            if old is None:
                raise SystemExit(f"no checkpoint of {args.consistency} records")
            proof = merkle.consistency_proof(old.size, leaves)
            answer |= {"old_checkpoint": old.to_json(), "consistency_proof": [_b64(p) for p in proof]}
        if args.seq is not None:
            if not 1 <= args.seq <= head.size:
                raise SystemExit(f"record {args.seq} is not in the latest checkpoint ({head.size} records)")
            entry = found[args.seq - 1]
            answer |= {
                "record": args.seq,
                "canonical": _b64(entry.canonical),
                "leaf_hash": _b64(leaves[args.seq - 1]),
                "inclusion_proof": [_b64(p) for p in merkle.inclusion_proof(args.seq - 1, leaves)],
            }
        return answer

    print(json.dumps(with_store(settings, prove), indent=2))
    return 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
