"""Run flowvault with what-if patches applied, for benchmarks/whatif.py: `python -m benchmarks.patched P,Q -- ARGS`.

Each patch stands in for a fix suggested to the module's owner, so its gain can be measured side by side with the
unpatched product in one run. Never used by the product or by run.py's table.
"""

from __future__ import annotations

import sys


def nofsync() -> None:
    """Upper bound of batching durability: vault.atomic_write without its two fsyncs per file."""
    import os

    os.fsync = lambda fd: None


def fastjson() -> None:
    """canonical.dumps through orjson (C) instead of json's pure-Python indent encoder.

    Not byte-identical for floats with an exponent (orjson writes 1e50, json 1e+50): a measure of the gain only.
    """
    import orjson

    from flowvault.normalize import canonical

    def dumps(obj):
        return orjson.dumps(canonical._plain(obj), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"

    canonical.dumps = dumps


def redactcache() -> None:
    """Redactor.matches as one compiled regex with a per-name cache (same answers; names repeat a lot)."""
    import fnmatch
    import functools
    import re

    from flowvault.normalize.redact import Redactor

    @functools.lru_cache(maxsize=None)
    def compiled(patterns):
        return re.compile("|".join(fnmatch.translate(p) for p in patterns))

    @functools.lru_cache(maxsize=65536)
    def match(patterns, name):
        return compiled(patterns).match(name.lower()) is not None

    def matches(self, name):
        return isinstance(name, str) and match(self.patterns, name)

    Redactor.matches = matches


def nonetrc() -> None:
    """requests reads ~/.netrc on every request of a session with trust_env and no session auth; skip it."""
    import requests.sessions

    requests.sessions.get_netrc_auth = lambda url, raise_errors=False: None


def indexlabels() -> None:
    """backup._labels reading only <source>/index.json at HEAD, not every blob of snapshots/."""
    import contextlib
    import json

    from flowvault import backup

    def labels(vault, result):
        out = {}
        docs = []
        for s in result.sources:
            with contextlib.suppress(Exception):
                if vault.head():
                    docs += [(s.name, d) for d in vault.read_tree("HEAD", prefix=f"snapshots/{s.name}/index.json").values()]
            data = vault.read(f"{s.name}/index.json")
            if data is not None:
                docs.append((s.name, data))
        for root, data in docs:
            with contextlib.suppress(Exception):
                doc = json.loads(data)
                for key in ("flows", "workflows"):
                    for entry in (doc.get(key) or {}).values():
                        out[(root, entry["slug"])] = entry.get("name") or entry["slug"]
        return out

    backup._labels = labels


PATCHES = {f.__name__: f for f in (nofsync, fastjson, redactcache, nonetrc, indexlabels)}


def main() -> None:
    names, _, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from flowvault.cli import cli

    cli.main(args=args, prog_name="flowvault")


if __name__ == "__main__":
    main()
