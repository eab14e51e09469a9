"""The DaVinci environments the sandbox serves (`--environments staging,prod`) and how their ids are derived.

Every environment holds the same seed data. The one named `davinci` (the default) keeps the ids the seed files ship
with, so configurations and tests written against the single-environment sandbox keep working; any other name gets
its own ids for everything the seed names (environment = DaVinci company id, worker app client id, flows, connector
instances, variables, applications, flow policies), each a UUID-5 of (seed, environment name, original id), in the
original's format (dashed UUID or 32 hex). Two sandboxes started alike therefore serve identical data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flowvault.sandbox.app import ID_NAMESPACE, SandboxContext

DEFAULT = "davinci"
# The default environment and its worker app (fixed, so that --write-config output is stable).
ENV_ID = "5f1d9c4e-2b7a-4c3e-9f60-0a1b2c3d4e5f"
CLIENT_ID = "8a6c2d1e-4f3b-4a9d-b7e5-1c2d3e4f5a6b"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # a TOML bare key, usable in a launcher name
_SUBSTRING_MIN = 16  # shorter ids (a --flows file's fallback key) are replaced only where they are a whole string


def check_names(names: Iterable[str]) -> tuple[str, ...]:
    """The environment names, validated: non-empty, unique, each a TOML bare key; ValueError names the bad one."""
    out = tuple(names)
    if not out:
        raise ValueError("at least one environment name is needed")
    for name in out:
        if not NAME.match(name):
            raise ValueError(f"environment name {name!r}: use letters, digits, '-' and '_' (at most 64)")
    if len(set(out)) != len(out):
        raise ValueError(f"environment names must be unique: {', '.join(out)}")
    return out


def derive(seed: int, env_name: str, original: str) -> str:
    """`original` as environment `env_name` knows it: itself in the default environment, else a derived id."""
    if env_name == DEFAULT:
        return original
    derived = uuid.uuid5(ID_NAMESPACE, f"{seed}:environment:{env_name}:{original}")
    return str(derived) if re.fullmatch(r"[0-9a-fA-F-]{36}", original) else derived.hex


@dataclass(frozen=True)
class Environment:
    """One served DaVinci environment: its name, id (also the DaVinci company id) and worker app client id."""

    name: str
    id: str
    client_id: str

    @property
    def state_name(self) -> str:
        """Its file under --state DIR (the default environment keeps the single-environment name)."""
        return "davinci" if self.name == DEFAULT else f"davinci.{self.name}"


def environments(ctx: SandboxContext) -> list[Environment]:
    """The served environments, in the order given (the first one gets the unsuffixed launchers)."""
    return [Environment(name, derive(ctx.seed, name, ENV_ID), derive(ctx.seed, name, CLIENT_ID))
            for name in ctx.environments]


def by_id(ctx: SandboxContext, env_id: str) -> Environment | None:
    for env in environments(ctx):
        if env.id == env_id:
            return env
    return None


def remap(doc: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of JSON `doc` with every id in `mapping` replaced, in values and keys, whole or inside a string
    (a flow variable's `name##SK##flow##SK##<flowId>`, an href)."""
    mapping = {k: v for k, v in mapping.items() if k and k != v}
    if not mapping:
        return doc
    long_ids = sorted((k for k in mapping if len(k) >= _SUBSTRING_MIN), key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, long_ids))) if long_ids else None

    def text(value: str) -> str:
        if value in mapping:
            return mapping[value]
        if pattern is None or len(value) < _SUBSTRING_MIN:
            return value
        return pattern.sub(lambda m: mapping[m.group(0)], value)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return text(node)
        if isinstance(node, dict):
            return {text(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(doc)
