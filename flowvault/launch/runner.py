"""Run configured launchers: build the Launcher of a [launchers.NAME] table, apply `expect`, run a suite."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowvault.errors import ConfigError, InputError
from flowvault.launch import launcher_module
from flowvault.launch.base import BLOCKED, ERROR, FAILED, PASSED, Result, RunOptions


def make_launcher(cfg) -> Any:
    """The Launcher for `cfg` (a flowvault.config.LauncherConfig); ConfigError if a variable it needs is unset."""
    getattr(cfg, "require", lambda: None)()
    module = launcher_module(cfg.type)
    return module.Launcher(cfg.name, cfg.settings, secret_hint=cfg.secret_hint)


def unknown_launcher(name: str, config) -> ConfigError:
    valid = ", ".join(sorted(config.launchers)) or "(none: add a [launchers.NAME] table)"
    return ConfigError(f"unknown launcher {name!r}; configured launchers: {valid}")


def resolve_input(cfg, config=None, *, pairs: Iterable[str] = (), input_file: str | None = None) -> Any:
    """The launch input: the table's `input`, else its `input_file` (Smart Flows), then --input-file, then --input K=V.

    A JSON file gives a dict that --input pairs are merged into; an XML file (Smart Flows) is sent as it is.
    """
    data: Any = dict(cfg.input or {})
    configured = getattr(cfg.settings, "input_file", None)
    if configured and not input_file:
        path = config.resolve(configured) if config is not None else Path(configured)
        data = _read_input(path, prefer_xml=True) if not data else data
    if input_file:
        data = _read_input(Path(input_file), prefer_xml=cfg.type == "smartflows")
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--input {pair!r}: expected KEY=VALUE")
        extra[key] = value
    if extra:
        if not isinstance(data, dict):
            raise InputError("--input KEY=VALUE cannot be combined with an XML input file")
        data = {**data, **extra}
    return data


def _read_input(path: Path, *, prefer_xml: bool) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read the input file ({e.strerror})") from None
    if text.lstrip().startswith("<"):
        if not prefer_xml:
            raise InputError(f"{path}: XML input is only for Smart Flows launchers; give a JSON object")
        return text
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the input must be a JSON object")
    return data


def check_expect(result: Result, expect: dict) -> Result:
    """`result` judged by the table's `expect` ({status} and/or {json subset}); a run that errored stays an error."""
    if not expect or result.outcome == ERROR:
        return result
    wanted = expect.get("status")
    if wanted is not None:
        if str(result.status or "").lower() != str(wanted).lower():
            if result.outcome in (PASSED,):
                result.outcome = FAILED
                result.message = f"expected status {wanted!r}, got {result.status!r}; {result.message}"
            return result
        if result.outcome in (FAILED, BLOCKED):  # an expected failure or block: the test passes
            result.message = f"status {result.status!r} as expected; {result.message}"
            result.outcome = PASSED
    subset = expect.get("json")
    if subset is not None:
        problem = _subset_problem(subset, result.output, "")
        if problem:
            result.outcome = FAILED
            result.message = f"expected json: {problem}; {result.message}"
    return result


def _subset_problem(expected: Any, actual: Any, path: str) -> str | None:
    """None if `expected` is contained in `actual` (dict keys recursively, lists item by item), else the first miss."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path or '/'} is not an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}/{key} is missing"
            problem = _subset_problem(value, actual[key], f"{path}/{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return f"{path or '/'} is not a list of at least {len(expected)} items"
        for index, value in enumerate(expected):
            problem = _subset_problem(value, actual[index], f"{path}/{index}")
            if problem:
                return problem
        return None
    if expected != actual:
        return f"{path or '/'} is {json.dumps(actual)[:60]}, not {json.dumps(expected)[:60]}"
    return None


def run_launcher(cfg, config=None, *, input: Any = None, timeout: float | None = None, wait: bool = True,
                 progress=None, apply_expect: bool = True) -> Result:
    """Run one configured launcher to its Result (never raises for a failed flow or a failed service call).
    Without `input`, the launcher's configured input (its `input` table or `input_file`) is sent, as `smoke` does."""
    if input is None:
        input = resolve_input(cfg, config)
    from flowvault.launch.base import NullProgress

    launcher = make_launcher(cfg)
    options = RunOptions(input=input, timeout=timeout or cfg.timeout, wait=wait, progress=progress or NullProgress())
    result = launcher.run(options)
    if apply_expect and wait:
        result = check_expect(result, cfg.expect)
    return result
