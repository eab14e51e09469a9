"""flowvault.toml -> frozen dataclasses, validated against the registries' Settings; every error names file + key.

The keys a [sources.NAME] or [launchers.NAME] table accepts are the fields of its type's `Settings` dataclass
(flowvault.sources / flowvault.launch): a field without a default is required, its annotation is its type, and
`metadata={"secret": True}` makes it a secret, which is accepted only as an ${ENV_VAR} reference and registered
with flowvault.masking once resolved. Launchers also take `input`, `expect` and `timeout`, common to every type.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowvault.errors import ConfigError, first_line
from flowvault.launch import LAUNCHERS, launcher_module
from flowvault.masking import register
from flowvault.pingone.regions import check_region
from flowvault.sources import SOURCES, source_module

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_LAUNCH_TIMEOUT = 300.0  # a DaVinci flow times out after 5 minutes by default (davinci_flow_limits)
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHOLE_ENV_REF = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CHOICES = {"token_auth_method": ("client_secret_basic", "client_secret_post")}
MIN_SECRET = 4  # shorter values cannot be masked without mangling ordinary text (flowvault.masking)


@dataclass(frozen=True)
class VaultConfig:
    path: Path  # resolved relative to the config file's folder
    remote: str | None = None
    redact: tuple[str, ...] = ()
    redact_key_file: Path | None = None  # the key of the secrets' fingerprints, kept outside the repository


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    settings: Any  # an instance of flowvault.sources.<type>.Settings
    secret_vars: Mapping[str, str] = field(default_factory=dict)  # key -> the environment variable it came from
    unset: tuple[str, ...] = ()  # errors for ${VAR}s not set, raised by require() when the table is used

    @property
    def secret_hint(self) -> str | None:
        """The variable(s) to check when the service refuses our credentials, e.g. 'FLOWVAULT_PROD_CLIENT_SECRET'."""
        return _hint(self.secret_vars)

    def require(self) -> None:
        """ConfigError naming the first environment variable this table refers to that is not set (else nothing)."""
        if self.unset:
            raise ConfigError(self.unset[0])


@dataclass(frozen=True)
class LauncherConfig:
    name: str
    type: str
    settings: Any  # an instance of flowvault.launch.<type>.Settings
    input: dict = field(default_factory=dict)
    expect: dict = field(default_factory=dict)  # {"status": str} and/or {"json": {...subset...}}
    timeout: float = DEFAULT_LAUNCH_TIMEOUT
    secret_vars: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()  # as SourceConfig.unset

    @property
    def secret_hint(self) -> str | None:
        return _hint(self.secret_vars)

    def require(self) -> None:
        """ConfigError naming the first environment variable this table refers to that is not set (else nothing)."""
        if self.unset:
            raise ConfigError(self.unset[0])


@dataclass(frozen=True)
class Config:
    path: Path
    vault: VaultConfig
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    launchers: dict[str, LauncherConfig] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file (vault.path, workflow_dir, input_file) are relative to."""
        return self.path.parent

    def resolve(self, relative: str | os.PathLike) -> Path:
        """`relative` (a path from the file) as an absolute path."""
        return (self.base_dir / Path(relative).expanduser()).resolve()


def load_config(path: str | os.PathLike, *, lazy: bool = False) -> Config:
    """Read and validate flowvault.toml at `path`; ConfigError (one line naming file and key) if anything is wrong.

    `lazy`: an environment variable that a [sources.NAME] or [launchers.NAME] table refers to need not be set until
    that table is used (its `require()`), so a command needs only the secrets it uses (issue 19); everything else
    (unknown keys, types, literal secrets) is still checked for every table."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; run `flowvault init` or pass --config FILE") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse_config(text, path, lazy=lazy)


def load_vault_config(path: str | os.PathLike) -> VaultConfig:
    """Only the [vault] table of flowvault.toml: what reading the vault (diff, log, show) needs. Sources and
    launchers are not validated, so their secrets need not be set to review history."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(_toml_error(path, text, e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    parser = _Parser(path, os.environ)
    return parser.vault(parser.table(doc, "vault", ""))


def parse_config(text: str, path: str | os.PathLike, env: Mapping[str, str] = os.environ, *,
                 lazy: bool = False) -> Config:
    """Validate the TOML `text` of the file at `path` (for messages and relative paths), resolving ${VAR} from `env`
    (`lazy`: see load_config)."""
    path = Path(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(_toml_error(path, text, e)) from None
    parser = _Parser(path, env, lazy=lazy)
    parser.check_keys(doc, ("vault", "sources", "launchers"), "")
    vault = parser.vault(parser.table(doc, "vault", ""))
    sources = {
        name: parser.source(name, table) for name, table in parser.table(doc, "sources", "").items()
    }
    launchers = {
        name: parser.launcher(name, table) for name, table in parser.table(doc, "launchers", "").items()
    }
    return Config(path=path, vault=vault, sources=sources, launchers=launchers)


def _toml_error(path: Path, text: str, error: Exception) -> str:
    """tomllib says 'Expected ... (at line 3, column 7)'; we say 'flowvault.toml:3:7: expected ...'."""
    message = str(error).splitlines()[0] if str(error) else "invalid TOML"
    line, col = getattr(error, "lineno", None), getattr(error, "colno", None)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if found:
        line, col = line or int(found.group(1)), col or int(found.group(2))
        message = message[: found.start()]
    message = re.sub(r"\s*\(at end of document\)\s*$", "", message)
    if line is None:
        line, col = max(1, len(text.splitlines())), 1
    message = message[:1].lower() + message[1:]
    return f"{path}:{line}:{col}: {message} (not valid TOML)"


def _hint(secret_vars: Mapping[str, str]) -> str | None:
    names = list(dict.fromkeys(secret_vars.values()))
    return " / ".join(names) if names else None


def _suggest(key: str, valid: typing.Iterable[str]) -> str:
    valid = list(valid)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; valid keys: {', '.join(valid)}" if valid else ""


class _Parser:
    def __init__(self, path: Path, env: Mapping[str, str], *, lazy: bool = False) -> None:
        self.path = path
        self.env = env
        self.lazy = lazy
        self.unset: list[str] | None = None  # while lazily parsing a source or launcher: its unset variables

    def unset_variable(self, where: str, key: str, variable: str) -> None:
        """An unset ${variable} in `key`: an error now, or (lazily, in a source or launcher) when the table is used."""
        error = self.error(where, f"{key}: environment variable {variable} is not set")
        if self.unset is None:
            raise error
        self.unset.append(str(error))

    def error(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where + ' ' if where else ''}{message}")

    def check_keys(self, table: Mapping[str, Any], valid: typing.Iterable[str], where: str) -> None:
        valid = list(valid)
        for key in table:
            if key not in valid:
                raise self.error(where, f"unknown key {key!r}{_suggest(key, valid)}")

    def table(self, doc: Mapping[str, Any], key: str, where: str) -> dict:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            raise self.error(where, f"{key} must be a table ([{key}]), not {_kind(value)}")
        return value

    # --- [vault] -------------------------------------------------------------------------------------------------

    def vault(self, table: dict) -> VaultConfig:
        where = "[vault]"
        self.check_keys(table, ("path", "remote", "redact", "redact_key_file"), where)
        raw_path = self.expand(self.typed(table.get("path", "."), str, "path", where), "path", where)
        remote = table.get("remote")
        if remote is not None:
            remote = self.expand(self.typed(remote, str, "remote", where), "remote", where)
        redact = table.get("redact", [])
        if not isinstance(redact, list) or not all(isinstance(p, str) for p in redact):
            raise self.error(where, f"redact must be a list of name patterns (strings), not {_kind(redact)}")
        vault_path = (self.path.parent / Path(raw_path).expanduser()).resolve()
        key_file = table.get("redact_key_file")
        if key_file is not None:
            raw_key = self.expand(self.typed(key_file, str, "redact_key_file", where), "redact_key_file", where)
            key_file = (self.path.parent / Path(raw_key).expanduser()).resolve()
        return VaultConfig(path=vault_path, remote=remote, redact=tuple(redact), redact_key_file=key_file)

    # --- [sources.NAME] / [launchers.NAME] --------------------------------------------------------------------------

    def source(self, name: str, table: Any) -> SourceConfig:
        where = f"[sources.{name}]"
        if not SAFE_NAME.fullmatch(name):
            raise self.error(where, "a source name may hold only letters, digits, '.', '_' and '-' (it names a folder)")
        type_name = self.type_of(table, SOURCES, where)
        self.unset = [] if self.lazy else None
        settings, secret_vars = self.settings(source_module(type_name).Settings, table, ("type",), (), where, name)
        unset, self.unset = tuple(self.unset or ()), None
        return SourceConfig(name=name, type=type_name, settings=settings, secret_vars=secret_vars, unset=unset)

    def launcher(self, name: str, table: Any) -> LauncherConfig:
        where = f"[launchers.{name}]"
        type_name = self.type_of(table, LAUNCHERS, where)
        common = ("type", "input", "expect", "timeout")
        self.unset = [] if self.lazy else None
        settings, secret_vars = self.settings(launcher_module(type_name).Settings, table, common, common, where, name)
        input_ = table.get("input", {})
        if not isinstance(input_, dict):
            raise self.error(where, f"input must be a table (input = {{ key = \"value\" }}), not {_kind(input_)}")
        input_ = self.expand_tree(input_, "input", where)
        expect = table.get("expect", {})
        if not isinstance(expect, dict):
            raise self.error(where, f"expect must be a table (expect = {{ status = \"success\" }}), "
                                    f"not {_kind(expect)}")
        self.check_keys(expect, ("status", "json"), f"{where} expect:")
        if "status" in expect:
            self.typed(expect["status"], str, "expect.status", where)
        if "json" in expect and not isinstance(expect["json"], dict):
            raise self.error(where, f"expect.json must be a table (the subset the result must contain), "
                                    f"not {_kind(expect['json'])}")
        timeout = self.typed(table.get("timeout", DEFAULT_LAUNCH_TIMEOUT), float, "timeout", where)
        if timeout <= 0:
            raise self.error(where, f"timeout must be a positive number of seconds, not {timeout:g}")
        unset, self.unset = tuple(self.unset or ()), None
        return LauncherConfig(
            name=name, type=type_name, settings=settings, input=input_, expect=dict(expect), timeout=timeout,
            secret_vars=secret_vars, unset=unset,
        )

    def type_of(self, table: Any, registry: Mapping[str, str], where: str) -> str:
        valid = ", ".join(registry)
        if not isinstance(table, dict):
            raise self.error(where, f"must be a table, not {_kind(table)}")
        if "type" not in table:
            raise self.error(where, f"missing required key 'type' (one of: {valid})")
        type_name = table["type"]
        if not isinstance(type_name, str) or type_name not in registry:
            close = difflib.get_close_matches(str(type_name), list(registry), n=1, cutoff=0.6)
            mean = f"did you mean {close[0]!r}? " if close else ""
            raise self.error(where, f"unknown type {type_name!r}; {mean}valid types: {valid}")
        return type_name

    def settings(self, cls: type, table: dict, extra_keys, skip, where: str, name: str):
        """An instance of the dataclass `cls` from `table` (ignoring `skip` keys), and {key: env var} of its secrets."""
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        self.check_keys(table, [*extra_keys, *fields], where)
        missing = [
            key for key, f in fields.items()
            if key not in table and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            keys = ", ".join(repr(k) for k in missing)
            raise self.error(where, f"missing required key{'s' if len(missing) > 1 else ''} {keys}")
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        secret_vars: dict[str, str] = {}
        for key, raw in table.items():
            if key in skip or key == "type":
                continue
            f = fields[key]
            if f.metadata.get("secret"):
                variable, values[key] = self.secret(raw, key, where, name)
                secret_vars[key] = variable
                continue
            value = self.typed(raw, hints.get(key, Any), key, where)
            if isinstance(value, str):
                pending = len(self.unset or ())
                value = self.expand(value, key, where)
                if len(self.unset or ()) > pending:  # left as written until the table is used: nothing to check
                    values[key] = value
                    continue
                choices = f.metadata.get("choices") or CHOICES.get(key)
                if choices and value not in choices:
                    raise self.error(where, f"{key} = {value!r} is not one of: {', '.join(choices)}")
                if key == "region":
                    value = check_region(value, where=f"{self.path}: {where} ")
                if (key == "url" or key.endswith("_url")) and not value.startswith(("http://", "https://")):
                    raise self.error(where, f"{key} must start with http:// or https://, not {value!r}")
            values[key] = value
        try:
            return cls(**values), secret_vars
        except (TypeError, ValueError) as e:  # a Settings __post_init__ that validates further
            raise self.error(where, first_line(e)) from None

    # --- values ---------------------------------------------------------------------------------------------------

    def secret(self, raw: Any, key: str, where: str, name: str) -> tuple[str, str]:
        example = re.sub(r"[^A-Za-z0-9]+", "_", f"FLOWVAULT_{name}_{key}").upper()
        match = WHOLE_ENV_REF.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            # Never echo the value: it may be the real secret.
            raise self.error(
                where,
                f"{key} is a secret: give it as an environment variable reference, e.g. {key} = \"${{{example}}}\", "
                "not a literal value",
            )
        variable = match.group(1)
        value = self.env.get(variable)
        if value is None or value == "":
            self.unset_variable(where, key, variable)
            return variable, raw  # lazily: never sent, since the table's require() fails first
        if len(value) < MIN_SECRET:
            raise self.error(where, f"{key}: environment variable {variable} is too short for a secret "
                                    f"(under {MIN_SECRET} characters)")
        register(value)
        return variable, value

    def expand(self, value: str, key: str, where: str) -> str:
        """`value` with every ${VAR} replaced by its value from the environment (unset -> ConfigError)."""

        def replace(match: re.Match) -> str:
            variable = match.group(1)
            if variable not in self.env:
                self.unset_variable(where, key, variable)
                return match.group(0)
            return self.env[variable]

        return ENV_REF.sub(replace, value)

    def expand_tree(self, value: Any, key: str, where: str) -> Any:
        if isinstance(value, str):
            return self.expand(value, key, where)
        if isinstance(value, dict):
            return {k: self.expand_tree(v, f"{key}.{k}", where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.expand_tree(v, key, where) for v in value]
        return value

    def typed(self, value: Any, annotation: Any, key: str, where: str) -> Any:
        """`value` checked against (and, for int -> float, converted to) the type `annotation`."""
        allowed, optional = _unpack(annotation)
        if not allowed:
            return value
        for kind in allowed:
            if kind is bool and isinstance(value, bool):
                return value
            if kind is int and isinstance(value, int) and not isinstance(value, bool):
                return value
            if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if kind is str and isinstance(value, str):
                return value
            if kind in (list, tuple) and isinstance(value, list):
                return kind(value)
            if kind is dict and isinstance(value, dict):
                return value
        wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in allowed)
        return_hint = f", e.g. {key} = {_EXAMPLES[allowed[0]]}" if allowed[0] in _EXAMPLES else ""
        raise self.error(where, f"{key} must be {wanted}, not {_kind(value)}{return_hint}")


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
               tuple: "a list", dict: "a table"}
_EXAMPLES = {str: '"..."', int: "10", float: "60", bool: "true"}


def _unpack(annotation: Any) -> tuple[tuple[type, ...], bool]:
    """(the concrete types an annotation allows, whether None is allowed); ((), ...) for Any / unknown."""
    if annotation is Any:
        return (), True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(annotation, types.UnionType)):
        kinds: list[type] = []
        optional = False
        for arg in typing.get_args(annotation):
            if arg is type(None):
                optional = True
                continue
            kinds.extend(_unpack(arg)[0])
        return tuple(kinds), optional
    if origin is not None:
        return ((origin,) if isinstance(origin, type) else ()), False
    return ((annotation,) if isinstance(annotation, type) else ()), False


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
