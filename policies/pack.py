"""A district's policy pack: which rules run, with what action, citing which clause of which policy.

A pack is a TOML file validated by pydantic. ``load_pack("default")`` is the packaged
``policies/packs/default.toml``; anything else is a path. A district file may start from another pack with
``[pack] extends = "default"`` and change only what differs (turn a rule off, change its action). Every error
names the file, the line and the key, because the person reading it is a district administrator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.decision import Action
from policies.rules.registry import RuleType, rule_types

DEFAULT = "default"
_PACKAGED_NAME = re.compile(r"[a-z0-9_-]+")
_MAX_EXTENDS = 8  # a chain longer than this is a loop or a mistake


class PackError(Exception):
    """An invalid policy pack, said in one line: ``file:line: key: what is wrong``."""


class RuleSettings(BaseModel):
    """What a pack says about one rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    action: Action
    citation: str  # "<seed file>: <the sentence it enforces>"
    lenient_action: Action | None = None  # every hit LOW and no student recipient
    requires: tuple[str, ...] = ()  # categories: this rule's findings count only alongside one of these
    escalate: bool = False
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("citation")
    @classmethod
    def _cites_a_clause(cls, value: str) -> str:
        source, sep, sentence = value.partition(": ")
        if not sep or not source.strip() or not sentence.strip():
            raise ValueError('a citation reads "<policy file>: <the sentence it enforces>"')
        return value


class PackInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    extends: str | None = None


class PackFile(BaseModel):
    """The file as written (after ``extends`` is merged in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: PackInfo
    rules: dict[str, RuleSettings] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConfiguredRule:
    """One rule as this district runs it: the class, its validated options and the pack's settings."""

    type: RuleType
    settings: RuleSettings
    options: BaseModel | None

    @property
    def id(self) -> str:
        return self.type.id

    @property
    def category(self) -> str:
        return self.type.category


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    source: str  # the file it came from, for messages
    description: str
    rules: tuple[ConfiguredRule, ...]  # sorted by id: the engine's evaluation order
    # sha256 of the pack's files in ``extends`` order, as text: every decision records it, so a decision
    # can be replayed with the pack that made it (and a changed pack is seen to be one).
    digest: str = ""

    def rule(self, rule_id: str) -> ConfiguredRule:
        for configured in self.rules:
            if configured.id == rule_id:
                return configured
        raise KeyError(rule_id)


@dataclass(frozen=True, slots=True)
class _Layer:
    """One file of an ``extends`` chain: kept so an error can point at the file that set the key."""

    source: str
    text: str
    raw: dict[str, Any]


def load_pack(name_or_path: str, known: Mapping[str, RuleType] | None = None) -> Pack:
    """``"default"`` (or another packaged name) or the path of a district's TOML file."""
    return _build(_layers(name_or_path, Path.cwd(), ()), known)


def parse_pack(text: str, source: str = "<pack>", known: Mapping[str, RuleType] | None = None) -> Pack:
    """A pack from TOML text; ``known`` replaces the installed rules (tests use it for stand-in rules)."""
    layer = _Layer(source, text, _parse_toml(text, source))
    return _build([*_base_layers(layer, Path.cwd(), (source,)), layer], known)


def _build(layers: list[_Layer], known: Mapping[str, RuleType] | None) -> Pack:
    known = rule_types() if known is None else known
    merged = _merge(layers)
    try:
        parsed = PackFile.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise _error(layers, tuple(str(part) for part in error["loc"]), message) from None

    categories = {rule_type.category for rule_type in known.values()}
    configured = []
    for rule_id, settings in sorted(parsed.rules.items()):
        loc = ("rules", rule_id)
        if rule_id not in known:
            raise _error(layers, loc, f"unknown rule (known rules: {', '.join(sorted(known))})")
        for category in settings.requires:
            if category not in categories:
                raise _error(layers, (*loc, "requires"), f"no rule has the category {category!r}")
        rule_type = known[rule_id]
        configured.append(ConfiguredRule(rule_type, settings, _options(layers, rule_type, settings.options)))
    digest = "sha256:" + hashlib.sha256("\0".join(layer.text for layer in layers).encode()).hexdigest()
    return Pack(parsed.pack.name, layers[-1].source, parsed.pack.description, tuple(configured), digest)


def _options(layers: list[_Layer], rule_type: RuleType, raw: dict[str, Any]) -> BaseModel | None:
    loc = ("rules", rule_type.id, "options")
    if rule_type.options_model is None:
        if raw:
            raise _error(layers, loc, "this rule takes no options")
        return None
    try:
        return rule_type.options_model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = "unknown option" if error["type"] == "extra_forbidden" else error["msg"]
        raise _error(layers, (*loc, *(str(part) for part in error["loc"])), message) from None


# --- reading files and following ``extends`` -------------------------------------------------------


def _layers(name_or_path: str, relative_to: Path, seen: tuple[str, ...]) -> list[_Layer]:
    source, text = _read(name_or_path, relative_to)
    if source in seen:
        raise PackError(f"{source}: extends itself (through {' -> '.join(seen)})")
    if len(seen) >= _MAX_EXTENDS:
        raise PackError(f"{source}: more than {_MAX_EXTENDS} packs deep in extends")
    layer = _Layer(source, text, _parse_toml(text, source))
    return [*_base_layers(layer, Path(source).parent, (*seen, source)), layer]


def _base_layers(layer: _Layer, relative_to: Path, seen: tuple[str, ...]) -> list[_Layer]:
    info = layer.raw.get("pack")
    extends = info.get("extends") if isinstance(info, dict) else None
    if extends is None:
        return []
    if not isinstance(extends, str):
        raise _error([layer], ("pack", "extends"), "must be a pack name or a path")
    return _layers(extends, relative_to, seen)


def _read(name_or_path: str, relative_to: Path) -> tuple[str, str]:
    if _PACKAGED_NAME.fullmatch(name_or_path):
        packaged = resources.files("policies") / "packs" / f"{name_or_path}.toml"
        if packaged.is_file():
            return str(packaged), packaged.read_text(encoding="utf-8")
    path = Path(name_or_path)
    path = path if path.is_absolute() else relative_to / path
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        packaged_too = (
            f" (and no packaged pack named {name_or_path!r})"
            if _PACKAGED_NAME.fullmatch(name_or_path)
            else ""
        )
        raise PackError(f"{path}: no such policy pack{packaged_too}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read the policy pack: {exc}") from None


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = found.group(1) if found else "1"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PackError(f"{source}:{line}: invalid TOML: {reason}") from None


def _merge(layers: list[_Layer]) -> dict[str, Any]:
    """Later files win key by key; a rule's table and its options merge rather than replace."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge_two(merged, layer.raw)
    pack = merged.get("pack", {})
    if isinstance(pack, dict):
        # The merged pack extends nothing any more, and is named by its last file unless that file says.
        pack = {key: value for key, value in pack.items() if key != "extends"}
        last = layers[-1].raw.get("pack")
        if not (isinstance(last, dict) and "name" in last):
            pack["name"] = Path(layers[-1].source).stem
        merged["pack"] = pack
    return merged


def _merge_two(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_two(out[key], value)
        else:
            out[key] = value
    return out


# --- pointing at the line -----------------------------------------------------------------------------


def _error(layers: list[_Layer], loc: tuple[str, ...], message: str) -> PackError:
    """Name the last file of the chain that sets (most of) ``loc``: that is the one to edit."""
    key = ".".join(loc)
    best: tuple[int, _Layer] | None = None
    for layer in layers:
        depth = _depth_in(layer.raw, loc)
        if depth > 0 and (best is None or depth >= best[0]):
            best = (depth, layer)
    layer = layers[-1] if best is None else best[1]
    return PackError(f"{layer.source}:{line_of(layer.text, loc)}: {key}: {message}")


def _depth_in(raw: dict[str, Any], loc: tuple[str, ...]) -> int:
    node: Any = raw
    for depth, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            return depth
        node = node[part]
    return len(loc)


_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"\[\[?\s*({_DOTTED})\s*\]\]?")
_ASSIGNMENT = re.compile(rf"({_DOTTED})\s*=")


def line_of(text: str, loc: tuple[str, ...]) -> int:
    """The line that sets ``loc``, or else the one that opens its nearest enclosing table.

    tomllib keeps no positions, so follow the table headers and dotted keys the way TOML reads them.
    """
    best_depth, best_line = 0, 1
    table: tuple[str, ...] = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        quotes = stripped.count('"""') + stripped.count("'''")
        if in_multiline:
            in_multiline = quotes % 2 == 0
            continue
        header = _HEADER.match(stripped)
        assignment = None if header else _ASSIGNMENT.match(stripped)
        if header:
            table = _split(header.group(1))
            path = table
        elif assignment:
            path = table + _split(assignment.group(1))
            in_multiline = quotes % 2 == 1
        else:
            continue
        depth = len(path)
        if depth > best_depth and path == loc[:depth]:
            best_depth, best_line = depth, number
            if depth == len(loc):
                break
    return best_line


def _split(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in re.findall(_PART, dotted):
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def with_rule_options(pack: Pack, prefix: str, **changes: Any) -> Pack:
    """A copy of ``pack`` in which the options of every rule whose id starts with ``prefix`` are changed:
    ``policy eval --model FILE`` runs the learned rules on another model file this way."""
    rules = tuple(
        dataclasses.replace(rule, options=rule.options.model_copy(update=changes))
        if rule.id.startswith(prefix) and rule.options is not None
        else rule
        for rule in pack.rules
    )
    return dataclasses.replace(pack, rules=rules)
