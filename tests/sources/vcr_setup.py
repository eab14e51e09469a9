"""Recorded HTTP for the source clients: the one vcr.VCR, its scrubbers, and the recorder.

Cassettes live in cassettes/davinci/ and cassettes/idm/ and are replayed with record mode "none" (CI never
records: a request the cassette does not hold fails the test). Every secret is scrubbed before a cassette is
written: Authorization / X-OpenIDM-Password / X-OpenIDM-Username headers, client secrets in token request bodies,
access tokens in token responses, and any string holding the sandbox's SBXSECRET marker. Hosts become
http://recorded.invalid and the environment id becomes ENV_PLACEHOLDER, so a re-recording diffs cleanly and
names no tenant. tests/sources/test_cassettes.py greps the cassettes for secrets.

Re-record from the sandbox (what is committed):

    python3 tests/sources/vcr_setup.py

Re-record against a real tenant / IDM server (review the diff like code before committing it):

    FLOWVAULT_PROD_CLIENT_SECRET=... python3 tests/sources/vcr_setup.py --config real.toml --source prod \
        --source idm --secret "$FLOWVAULT_PROD_CLIENT_SECRET" --secret "$IDM_PASSWORD"

(--secret adds literal values to scrub wherever they appear; the replay test then only asserts what any
environment satisfies.)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import vcr

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes"
HOST = "http://recorded.invalid"
ENV_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
MARKER = "SBXSECRET"
SCRUBBED = "SCRUBBED"
SECRET_HEADERS = ["authorization", "x-openidm-password", "x-openidm-username", "cookie", "set-cookie",
                  "x-sk-api-key"]
SECRET_PARAMS = ["client_secret", "access_token", "api_key", "token", "password"]

# Filled by the recorder: (original text, replacement) pairs applied to URIs and bodies.
_REWRITES: list[tuple[str, str]] = []
_SECRETS: list[str] = []


def _rewrite_text(text: str) -> str:
    for old, new in _REWRITES:
        text = text.replace(old, new)
    for secret in _SECRETS:
        text = text.replace(secret, SCRUBBED)
    # Any JSON string holding the sandbox marker, and OAuth token values, whatever they are.
    text = re.sub(r'"[^"\\]*' + MARKER + r'[^"\\]*"', f'"{SCRUBBED}"', text)
    text = re.sub(r'("(?:access_token|refresh_token|id_token|client_secret)"\s*:\s*)"[^"]*"', rf'\1"{SCRUBBED}"',
                  text)
    return text


def _scrub_request(request):
    request.uri = _rewrite_text(request.uri)
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        text = re.sub(r"(client_secret|password|client_assertion)=[^&]*", rf"\1={SCRUBBED}", text)
        request.body = _rewrite_text(text).encode("utf-8")
    return request


def _scrub_response(response):
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [SCRUBBED]
        else:
            headers[name] = [_rewrite_text(v) for v in headers[name]]
    body = response.get("body", {}).get("string")
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        response["body"]["string"] = _rewrite_text(text).encode("utf-8")
        headers.pop("Content-Length", None)
        headers.pop("content-length", None)
    return response


def make_vcr(record_mode: str = "none") -> vcr.VCR:
    """The VCR every source cassette test uses: matching ignores host and port (they are rewritten)."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=("method", "path", "query"),
        filter_headers=SECRET_HEADERS,
        filter_query_parameters=SECRET_PARAMS,
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )


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


def record(config_path: str | None, sources: list[str], secrets: list[str]) -> None:
    """Run the source clients against the sandbox (or `config_path`) and write the cassettes."""
    import contextlib
    import os
    from urllib.parse import urlsplit

    from flowvault.config import load_config
    from flowvault.normalize.redact import Redactor
    from flowvault.sources import source_module

    _SECRETS.extend(s for s in secrets if s)
    with contextlib.ExitStack() as stack:
        if config_path is None:
            from flowvault.sandbox.server import Sandbox

            secret = f"vcr-{MARKER}-0001"
            os.environ["FLOWVAULT_SANDBOX_SECRET"] = secret
            _SECRETS.append(secret)
            sb = stack.enter_context(Sandbox(port=0, secret=secret))
            config_path = str(Path(stack.enter_context(_tempdir())) / "flowvault.toml")
            sb.write_config(config_path)
            sources = sources or ["davinci", "idm"]
        config = load_config(config_path)
        for name in sources:
            src_cfg = config.sources[name]
            settings = src_cfg.settings
            urls = [getattr(settings, k, None) for k in ("api_url", "auth_url", "url")]
            if src_cfg.type == "davinci":
                from flowvault.regions import region_urls

                if not settings.api_url:
                    urls += [region_urls(settings.region).api, region_urls(settings.region).auth]
                _REWRITES.append((settings.environment_id, ENV_PLACEHOLDER))
            for url in filter(None, urls):
                parts = urlsplit(url)
                _REWRITES.append((f"{parts.scheme}://{parts.netloc}", HOST))
            cassette = f"{src_cfg.type}/backup.yaml"
            (CASSETTES / cassette).unlink(missing_ok=True)
            module = source_module(src_cfg.type)
            source = module.Source(name, settings, redactor=Redactor(b"cassette-key"), jobs=1,
                                   base_dir=config.path.parent)
            with make_vcr("all").use_cassette(cassette):
                summary = exercise(source)
            source.close()
            print(f"{cassette}: {len(summary['listed'])} items", file=sys.stderr)


@__import__("contextlib").contextmanager
def _tempdir():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        yield d


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description="Record cassettes/davinci and cassettes/idm.")
    parser.add_argument("--config", help="a flowvault.toml of real systems (default: a fresh sandbox)")
    parser.add_argument("--source", action="append", default=[], help="source to record (repeatable)")
    parser.add_argument("--secret", action="append", default=[], help="a literal value to scrub (repeatable)")
    args = parser.parse_args()
    record(args.config, args.source, args.secret)
