"""Audit configuration: thresholds per rule, scopes, and exemptions that expire.

Why a file and not code: an organisation's privacy officer, not a programmer, decides that the
backup service may COPY everything at night or that a rule does not apply to the ward's own
auditors. Those decisions must be written down with who took them, why, and until when, so that
they can be reviewed and do not silently outlive their reason. The packaged ``default_rules.yaml``
holds every threshold with the reason it was set; a workspace may override any part of it with its
own ``audit.yaml`` (merged key by key, so a workspace file names only what it changes).

An exemption without an owner, a reason or an expiry date is refused (a clear error naming the
file and line): an exemption nobody owns is a hole nobody will close. An expired exemption stops
applying to findings about days after its expiry, and stays in the file as a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kansa.model.errors import KansaError

CONFIG_FILE = "audit.yaml"
DEFAULT_RESOURCE = "default_rules.yaml"


@dataclass(frozen=True)
class Exemption:
    """Findings this exemption suppresses: every given field must match (``*``/None = any)."""

    rule: str
    approved_by: str
    reason: str
    expires: date
    actor: str | None = None
    account: str | None = None
    owner: str | None = None
    source: str = ""  # file:line, so that a reviewer can find it

    def applies(self, rule: str, day: date, actor: str | None, accounts: set[str], owners: set[str]) -> bool:
        if day > self.expires:
            return False
        if self.rule not in ("*", rule):
            return False
        if self.actor is not None and self.actor != actor:
            return False
        if self.account is not None and self.account not in accounts:
            return False
        return self.owner is None or self.owner in owners


@dataclass(frozen=True)
class Scope:
    """Which actors and owners a rule judges; empty lists mean all."""

    roles: tuple[str, ...] = ()
    exclude_roles: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    exclude_owners: tuple[str, ...] = ()

    def admits(self, role: str | None, owners: set[str]) -> bool:
        if self.roles and (role or "") not in self.roles:
            return False
        if role is not None and role in self.exclude_roles:
            return False
        if self.owners and owners and not (owners & set(self.owners)):
            return False
        return not (owners and self.exclude_owners and owners <= set(self.exclude_owners))


@dataclass(frozen=True)
class RuleConfig:
    """One rule's settings. ``params`` holds its thresholds (see default_rules.yaml)."""

    name: str
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    scope: Scope = field(default_factory=Scope)
    root: Path | None = None  # the workspace folder, for rules that read a file there (watch list)

    def get(self, key: str, default: Any) -> Any:
        """A threshold, falling back to ``default`` when the configuration does not name it."""
        value = self.params.get(key, default)
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int) and not isinstance(value, bool):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return value


@dataclass(frozen=True)
class AuditConfig:
    rules: dict[str, RuleConfig]
    exemptions: tuple[Exemption, ...] = ()
    sources: tuple[str, ...] = ()  # files the configuration was read from, in order

    def rule(self, name: str) -> RuleConfig:
        return self.rules.get(name) or RuleConfig(name)


# ---- YAML with line numbers ------------------------------------------------------------------
class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers on which line each mapping starts (for error messages)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    out: dict[str, Any] = {str(k): v for k, v in mapping.items()}
    out["__line__"] = node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise KansaError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=where,
                         line=mark.line + 1 if mark is not None else None) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KansaError("the audit configuration must be a mapping (rules:, exemptions:)", path=where)
    return data


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _as_date(value: Any, where: str, line: int | None, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise KansaError(f"{what} must be a date (YYYY-MM-DD), not {value!r}", path=where, line=line) from exc


def _strings(value: Any, where: str, line: int | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise KansaError(f"{what} must be a list of names", path=where, line=line)


def _exemption(item: Any, where: str, known: set[str]) -> Exemption:
    line = item.get("__line__") if isinstance(item, dict) else None
    if not isinstance(item, dict):
        raise KansaError("each exemption must be a mapping", path=where, line=line)
    missing = [k for k in ("rule", "approved_by", "reason", "expires") if not item.get(k)]
    if missing:
        raise KansaError(f"exemption needs {', '.join(missing)} (who approved it, why, until when)",
                         path=where, line=line)
    rule = str(item["rule"])
    if rule != "*" and known and rule not in known:
        raise KansaError(f"exemption names unknown rule {rule!r}; known: {', '.join(sorted(known))}",
                         path=where, line=line)
    if not any(item.get(k) for k in ("actor", "account", "owner")):
        raise KansaError("exemption must name an actor, account or owner (a whole rule is switched off "
                         "with `enabled: false` instead)", path=where, line=line)
    return Exemption(
        rule=rule,
        approved_by=str(item["approved_by"]),
        reason=str(item["reason"]),
        expires=_as_date(item["expires"], where, line, "expires"),
        actor=str(item["actor"]) if item.get("actor") else None,
        account=str(item["account"]) if item.get("account") else None,
        owner=str(item["owner"]) if item.get("owner") else None,
        source=f"{where}:{line}" if line else where,
    )


def _rule(name: str, raw: Any, where: str, root: Path | None) -> RuleConfig:
    line = raw.get("__line__") if isinstance(raw, dict) else None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise KansaError(f"rule {name!r}: settings must be a mapping", path=where, line=line)
    body = _strip(raw)
    scope_raw = body.pop("scope", None) or {}
    if not isinstance(scope_raw, dict):
        raise KansaError(f"rule {name!r}: scope must be a mapping", path=where, line=line)
    unknown = set(scope_raw) - {"roles", "exclude_roles", "owners", "exclude_owners"}
    if unknown:
        raise KansaError(f"rule {name!r}: unknown scope key(s) {', '.join(sorted(unknown))}", path=where, line=line)
    scope = Scope(**{k: _strings(v, where, line, f"scope.{k}") for k, v in scope_raw.items()})
    enabled = body.pop("enabled", True)
    for key, value in body.items():
        if not isinstance(value, int | float | str | bool | list) or isinstance(value, dict):
            raise KansaError(f"rule {name!r}: {key} must be a number, word or list", path=where, line=line)
    return RuleConfig(name=name, enabled=bool(enabled), params=body, scope=scope, root=root)


def default_text() -> str:
    return resources.files("kansa.audit").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")


def load_config(root: Path | None = None, known_rules: set[str] | None = None) -> AuditConfig:
    """The packaged defaults, overridden by ``root/audit.yaml`` when the workspace has one."""
    known = set(known_rules or ())
    base = _parse(default_text(), f"kansa/audit/{DEFAULT_RESOURCE}")
    sources = [f"kansa/audit/{DEFAULT_RESOURCE}"]
    layers: list[tuple[dict[str, Any], str]] = [(base, sources[0])]
    if root is not None and (Path(root) / CONFIG_FILE).is_file():
        path = Path(root) / CONFIG_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise KansaError("audit.yaml must be UTF-8", path=str(path)) from exc
        layers.append((_parse(text, str(path)), str(path)))
        sources.append(str(path))
    rules_raw: dict[str, Any] = {}
    exemptions: list[Exemption] = []
    for n, (data, where) in enumerate(layers):
        extra = set(data) - {"rules", "exemptions", "__line__"}
        if extra:
            raise KansaError(f"unknown section(s) {', '.join(sorted(extra))} (expected rules, exemptions)",
                             path=where, line=data.get("__line__"))
        section = data.get("rules") or {}
        if not isinstance(section, dict):
            raise KansaError("rules: must map rule names to settings", path=where)
        for name, raw in section.items():
            if name == "__line__":
                continue
            if n > 0 and known and name not in known:  # the packaged file is checked by a test
                line = raw.get("__line__") if isinstance(raw, dict) else None
                raise KansaError(f"unknown rule {name!r}; known: {', '.join(sorted(known))}", path=where, line=line)
            _rule(name, raw, where, root)  # validate in the file it came from (right line in errors)
            prev = rules_raw.get(name) or {}
            rules_raw[name] = _merge(prev, _strip(raw) if isinstance(raw, dict) else {})
        items = data.get("exemptions") or []
        if not isinstance(items, list):
            raise KansaError("exemptions: must be a list", path=where)
        exemptions.extend(_exemption(item, where, known) for item in items)
    rules = {name: _rule(name, raw, sources[-1], root) for name, raw in rules_raw.items()
             if not known or name in known}
    return AuditConfig(rules=rules, exemptions=tuple(exemptions), sources=tuple(sources))
