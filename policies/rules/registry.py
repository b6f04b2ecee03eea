"""The one place rules are registered: every rule class found in the modules of ``policies.rules``.

Learned from GNU Mailman's ``add_components``: adding a rule means adding a module, never editing a list.
A rule class is any class defined in one of those modules with an ``id``, a ``category`` and a ``check``;
its optional ``Options`` pydantic model declares the settings a pack may give it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, cast

from pydantic import BaseModel

from policies.rules import Rule

PACKAGE = "policies.rules"


class RegistryError(Exception):
    """Two rules claim one id, or a rule class is malformed: a programming error, found at start-up."""


@dataclass(frozen=True, slots=True)
class RuleType:
    """A discovered rule class, with what a pack needs to know to build it."""

    id: str
    category: str
    cls: type[Any]
    options_model: type[BaseModel] | None

    @property
    def module(self) -> str:
        return self.cls.__module__

    @classmethod
    def of(cls, rule_class: type[Any]) -> RuleType:
        """Check one rule class and describe it (the registry does this; tests use it for stand-ins)."""
        where = f"{rule_class.__module__}.{rule_class.__name__}"
        rule_id, category = getattr(rule_class, "id", None), getattr(rule_class, "category", None)
        if not isinstance(rule_id, str) or not rule_id or not isinstance(category, str) or not category:
            raise RegistryError(f"{where}: id and category must be non-empty strings")
        options = getattr(rule_class, "Options", None)
        if options is not None and not (inspect.isclass(options) and issubclass(options, BaseModel)):
            raise RegistryError(f"{where}: Options must be a pydantic model")
        return cls(rule_id, category, rule_class, options)

    def build(self, options: BaseModel | None) -> Rule:
        return cast(Rule, self.cls(options))


def discover(package: str | ModuleType = PACKAGE) -> dict[str, RuleType]:
    """Import every module of ``package`` and collect its rule classes, sorted by id."""
    root = importlib.import_module(package) if isinstance(package, str) else package
    found: dict[str, RuleType] = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{root.__name__}.{info.name}")
        for rule_type in _rule_types_in(module):
            if rule_type.id in found:
                other = found[rule_type.id]
                raise RegistryError(
                    f"rule id {rule_type.id!r} is defined twice: "
                    f"{other.module}.{other.cls.__name__} and {rule_type.module}.{rule_type.cls.__name__}"
                )
            found[rule_type.id] = rule_type
    return dict(sorted(found.items()))


@cache
def rule_types() -> dict[str, RuleType]:
    """The rules of this installation; discovered once, since modules do not change while we run."""
    return discover(PACKAGE)


def _rule_types_in(module: ModuleType) -> list[RuleType]:
    # Only classes defined here: a module may import another rule to build on it (guardian hours
    # reuses quiet hours), and that import must not register the parent twice.
    return [
        RuleType.of(cls)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and _looks_like_rule(cls)
    ]


def _looks_like_rule(cls: type[Any]) -> bool:
    if getattr(cls, "_is_protocol", False):
        return False
    return all(hasattr(cls, name) for name in ("id", "category")) and callable(getattr(cls, "check", None))
