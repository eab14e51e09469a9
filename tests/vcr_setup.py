"""Recorded HTTP for every client: the one vcr.VCR, its scrubbers, the launch scenarios, and the recorder.

Cassettes live in cassettes/<system>/ and are replayed with record mode "none" (CI never records: a request the
cassette does not hold fails the test). Every secret is scrubbed before a cassette is written: credential headers
(Authorization, X-OpenIDM-Password, X-SK-API-KEY, x-api-key, X-API-Key, ...) are dropped, `api_key`-like query
parameters too, client secrets in token request bodies and access tokens in token responses become SCRUBBED, and so
does any string holding the sandbox's SBXSECRET marker or a value of a configured secret field. Hosts become
http://recorded.invalid and the environment / company id becomes ENV_PLACEHOLDER, so a re-recording diffs cleanly
and names no tenant; Date / Server response headers are dropped for the same reason. The replay tests grep every
file under cassettes/ for secrets.

Re-record everything from a fresh sandbox (what is committed):

    python3 tests/vcr_setup.py

Re-record some of it against a real tenant (review the diff like code before committing it):

    python3 tests/vcr_setup.py --config real.toml --source prod --launcher davinci-ok=prod-smoke \
        --secret "$IDM_PASSWORD"

--source NAME records [sources.NAME] into cassettes/<type>/backup.yaml; --launcher SCENARIO[=NAME] records
[launchers.NAME] (default: the scenario's name) into the scenario's cassette and its table, scrubbed, into
cassettes/launchers.toml, which the replay tests run. The values of the config's secret fields are scrubbed
automatically; --secret adds other literal values to scrub wherever they appear.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import vcr

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "cassettes"
LAUNCHERS_TOML = CASSETTES / "launchers.toml"
HOST = "http://recorded.invalid"
ENV_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
MARKER = "SBXSECRET"
RECORD_SECRET = f"vcr-{MARKER}-c4553773"  # the sandbox credential while recording: distinctive, so a leak is found
REPLAY_SECRET_ENV = "FLOWVAULT_CASSETTE_SECRET"  # what every secret of cassettes/launchers.toml refers to
SCRUBBED = "SCRUBBED"
SECRET_HEADERS = ["authorization", "proxy-authorization", "x-openidm-password", "x-openidm-username", "cookie",
                  "set-cookie", "x-sk-api-key", "x-api-key"]
SECRET_PARAMS = ["client_secret", "access_token", "api_key", "apikey", "token", "password"]
VOLATILE_RESPONSE_HEADERS = {"date", "server", "content-length"}


class Scenario(NamedTuple):
    cassette: str
    launcher: str  # the [launchers.NAME] table the sandbox recording uses


# One launch each: the replay tests run cassettes/launchers.toml's table of the same name against the cassette.
SCENARIOS: dict[str, Scenario] = {
    "davinci-ok": Scenario("davinci-runtime/start-ok.yaml", "davinci-ok"),
    "davinci-fail": Scenario("davinci-runtime/start-fail.yaml", "davinci-fail"),
    "invision-ok": Scenario("invision/run-ok.yaml", "invision-ok"),
    "invision-fail": Scenario("invision/run-fail.yaml", "invision-fail"),
    "smartflows-ok": Scenario("smartflows/execution-ok.yaml", "smartflows-ok"),
    "smartflows-fail": Scenario("smartflows/execution-fail.yaml", "smartflows-fail"),
    "idm-ended": Scenario("idm-launch/create-ended.yaml", "idm-ok"),
    "idm-500": Scenario("idm-launch/create-500.yaml", "idm-fail"),
    "idm-suspended": Scenario("idm-launch/suspended-history.yaml", "idm-suspended"),
}
SOURCE_CASSETTES = {"davinci": "davinci/backup.yaml", "idm": "idm/backup.yaml"}

# Filled by the recorder: (original text, replacement) pairs applied to URIs, bodies and headers, and literal secrets.
_REWRITES: list[tuple[str, str]] = []
_SECRETS: list[str] = []


def scrub_text(text: str) -> str:
    """`text` with recorded hosts/ids rewritten and every known secret, marker string and token value replaced."""
    for old, new in _REWRITES:
        text = text.replace(old, new)
    for secret in sorted(set(_SECRETS), key=len, reverse=True):
        text = text.replace(secret, SCRUBBED)
    # Any JSON string holding the sandbox marker, and OAuth token values, whatever they are.
    text = re.sub(r'"[^"\\]*' + MARKER + r'[^"\\]*"', f'"{SCRUBBED}"', text)
    text = re.sub(r"[^\s\"'&=,;]*" + MARKER + r"[^\s\"'&,;]*", SCRUBBED, text)
    text = re.sub(r'("(?:access_token|refresh_token|id_token|client_secret|api_key)"\s*:\s*)"[^"]*"',
                  rf'\1"{SCRUBBED}"', text)
    text = re.sub(r"(?i)(bearer\s+)(?!" + SCRUBBED + r")[A-Za-z0-9._~+/=-]{8,}", rf"\1{SCRUBBED}", text)
    return text


def _scrub_request(request):
    request.uri = scrub_text(request.uri)
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        text = re.sub(r"(client_secret|password|client_assertion|api_key)=[^&]*", rf"\1={SCRUBBED}", text)
        request.body = scrub_text(text).encode("utf-8")
    return request


def _scrub_response(response):
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in VOLATILE_RESPONSE_HEADERS:
            del headers[name]
        elif name.lower() in SECRET_HEADERS:
            headers[name] = [SCRUBBED]
        else:
            headers[name] = [scrub_text(v) for v in headers[name]]
    body = response.get("body", {}).get("string")
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        response["body"]["string"] = scrub_text(text).encode("utf-8")
    return response


# The one VCR of the test suite (tests/conftest.py hands it out as the `cassette_vcr` fixture). Matching ignores
# host and port (they are rewritten); record mode "none": only the recorder below records, by overriding it.
VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=("method", "path", "query"),
    filter_headers=SECRET_HEADERS + ["user-agent"],
    filter_query_parameters=SECRET_PARAMS,
    before_record_request=_scrub_request,
    before_record_response=_scrub_response,
    decode_compressed_response=True,
)


def make_vcr(record_mode: str = "none") -> vcr.VCR:
    """The shared VCR (kept for callers of the old tests/sources/vcr_setup.py; only "none" is handed out)."""
    if record_mode != "none":
        raise ValueError("record through record(); the test suite replays only")
    return VCR


def replay_settings(kind: str, workflow_dir: str | None = None):
    """Source settings that point at the rewritten host, as the cassettes were recorded."""
    if kind == "davinci":
        from flowvault.sources.davinci import Settings

        return Settings(environment_id=ENV_PLACEHOLDER, client_id="recorded-client", client_secret="recorded-secret",
                        api_url=f"{HOST}/v1", auth_url=HOST)
    from flowvault.sources.idm import Settings

    return Settings(url=f"{HOST}/openidm", bearer_token="recorded-token", workflow_dir=workflow_dir)


def exercise(source) -> dict:
    """What the replay test also does: list, export every item, read the extras. Returns a summary."""
    listed = source.list()
    exported = {}
    for item_id, item in sorted(listed.items()):
        exported[item_id] = [(e.id, sorted(e.files), e.parent) for e in source.export(item)]
    extras = {name: (data if isinstance(data, bytes) else repr(data)) for name, data in source.extras()}
    return {"listed": sorted(listed), "exported": exported, "extras": sorted(extras)}


# --- recording -------------------------------------------------------------------------------------------------


def _secret_values(settings) -> list[str]:
    return [str(getattr(settings, f.name)) for f in dataclasses.fields(settings)
            if f.metadata.get("secret") and getattr(settings, f.name)]


def _rewrite_hosts(*urls: str | None) -> None:
    from urllib.parse import urlsplit

    for url in filter(None, urls):
        parts = urlsplit(url)
        _REWRITES.append((f"{parts.scheme}://{parts.netloc}", HOST))


def _record_source(config, name: str) -> None:
    from flowvault.normalize.redact import Redactor
    from flowvault.sources import source_module

    src_cfg = config.sources[name]
    settings = src_cfg.settings
    urls = [getattr(settings, k, None) for k in ("api_url", "auth_url", "url")]
    if src_cfg.type == "davinci":
        from flowvault.pingone.regions import region_urls

        if not settings.api_url:
            urls += [region_urls(settings.region).api, region_urls(settings.region).auth]
        _REWRITES.append((settings.environment_id, ENV_PLACEHOLDER))
    _rewrite_hosts(*urls)
    _SECRETS.extend(_secret_values(settings))
    cassette = SOURCE_CASSETTES[src_cfg.type]
    (CASSETTES / cassette).unlink(missing_ok=True)
    source = source_module(src_cfg.type).Source(name, settings, redactor=Redactor(b"cassette-key"), jobs=1,
                                                base_dir=config.path.parent)
    with VCR.use_cassette(cassette, record_mode="all"):
        summary = exercise(source)
    source.close()
    print(f"{cassette}: {len(summary['listed'])} items", file=sys.stderr)


def _record_launcher(config, raw_tables: dict, scenario: str, name: str) -> dict:
    """Run [launchers.NAME] once into the scenario's cassette; return its table as the replay config holds it."""
    from flowvault.launch.runner import resolve_input, run_launcher

    cfg = config.launchers[name]
    settings = cfg.settings
    _rewrite_hosts(getattr(settings, "url", None), getattr(settings, "runtime_url", None))
    if cfg.type == "davinci":
        from flowvault.launch.davinci import runtime_base

        _rewrite_hosts(runtime_base(settings))
        _REWRITES.append((settings.company_id, ENV_PLACEHOLDER))
    _SECRETS.extend(_secret_values(settings))
    cassette = SCENARIOS[scenario].cassette
    (CASSETTES / cassette).unlink(missing_ok=True)
    data = resolve_input(cfg, config)
    with VCR.use_cassette(cassette, record_mode="all"):
        result = run_launcher(cfg, config, input=data)
    print(f"{cassette}: {result.outcome} (status {result.status}, run {result.run_id})", file=sys.stderr)
    secret_fields = {f.name for f in dataclasses.fields(settings) if f.metadata.get("secret")}
    table = {}
    for key, value in raw_tables[name].items():
        if key in secret_fields:
            table[key] = f"${{{REPLAY_SECRET_ENV}}}"
        elif key == "input_file":
            table["input"] = data  # the replay has no access to the recording's files
        else:
            table[key] = _scrub_value(value)
    return table


def _scrub_value(value):
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    return value


def _write_launchers_toml(tables: dict[str, dict]) -> None:
    from flowvault.sandbox.tomlw import dumps

    existing = {}
    if LAUNCHERS_TOML.exists():
        existing = tomllib.loads(LAUNCHERS_TOML.read_text("utf-8")).get("launchers", {})
    merged = {name: tables.get(name) or existing[name] for name in SCENARIOS if name in tables or name in existing}
    header = ("# The [launchers.*] tables the cassettes under cassettes/ were recorded with (hosts, ids and secrets\n"
              f"# scrubbed); written by tests/vcr_setup.py, replayed by tests/launch/test_cassettes_launch.py with\n"
              f"# ${REPLAY_SECRET_ENV} set to any value.\n\n")
    LAUNCHERS_TOML.write_text(header + dumps({"vault": {"path": "."}, "launchers": merged}), encoding="utf-8")


def _sandbox_config(stack: contextlib.ExitStack) -> Path:
    """A fresh sandbox with RECORD_SECRET as every credential, its flowvault.toml, and an idm-suspended launcher."""
    from flowvault.sandbox.server import Sandbox

    os.environ["FLOWVAULT_SANDBOX_SECRET"] = RECORD_SECRET
    _SECRETS.append(RECORD_SECRET)
    sb = stack.enter_context(Sandbox(port=0, secret=RECORD_SECRET))
    path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "flowvault.toml"
    sb.write_config(path)
    # managedUserApproval stops at a user task its (emulated) assignee completes 2 s later: create answers
    # `suspended`, then the history polls show it end.
    table = sb.config()["launchers"]["idm-ok"]
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[launchers.idm-suspended]\ntype = "idm"\nurl = "{table["url"]}"\nusername = "{table["username"]}"\n'
                'password = "${FLOWVAULT_SANDBOX_SECRET}"\nbusiness_key = "flowvault-smoke"\ntimeout = 30\n'
                'key = "managedUserApproval"\nexpect = { status = "ended" }\n')
    return path


def record(config_path: str | None, sources: list[str], launchers: list[str], secrets: list[str]) -> None:
    """Run the clients against a fresh sandbox (or `config_path`) and write their cassettes."""
    from flowvault.config import load_config

    _SECRETS.extend(s for s in secrets if s)
    with contextlib.ExitStack() as stack:
        if config_path is None:
            config_path = str(_sandbox_config(stack))
            if not sources and not launchers:
                sources, launchers = ["davinci", "idm"], list(SCENARIOS)
        elif not sources and not launchers:
            raise SystemExit("with --config, name what to record: --source NAME and/or --launcher SCENARIO[=NAME]")
        config = load_config(config_path)
        raw = tomllib.loads(Path(config_path).read_text("utf-8")).get("launchers", {})
        for name in sources:
            _record_source(config, name)
        tables = {}
        for spec in launchers:
            scenario, _, name = spec.partition("=")
            if scenario not in SCENARIOS:
                raise SystemExit(f"unknown scenario {scenario!r}; scenarios: {', '.join(SCENARIOS)}")
            name = name or SCENARIOS[scenario].launcher
            if name not in config.launchers:
                raise SystemExit(f"{config_path}: no [launchers.{name}] table for scenario {scenario}")
            tables[scenario] = _record_launcher(config, raw, scenario, name)
        if tables:
            _write_launchers_toml(tables)


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description="Record the cassettes under cassettes/ (default: all, from a "
                                                 "fresh sandbox).")
    parser.add_argument("--config", help="a flowvault.toml of real systems (default: a fresh sandbox)")
    parser.add_argument("--source", action="append", default=[], help="[sources.NAME] to record (repeatable)")
    parser.add_argument("--launcher", action="append", default=[], metavar="SCENARIO[=NAME]",
                        help=f"a launch scenario to record with [launchers.NAME] (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--secret", action="append", default=[], help="a literal value to scrub (repeatable)")
    args = parser.parse_args()
    record(args.config, args.source, args.launcher, args.secret)
