"""Transient faults (429 + Retry-After, 5xx, dropped connections, truncated and non-JSON bodies) change nothing:
a backup through them equals a fault-free backup byte for byte."""

from __future__ import annotations

import time

import pytest

from flowvault.sandbox.server import Sandbox
from tests.reliability.reliability_helpers import (
    Proxy,
    call,
    cli_run,
    committed_tree,
    git,
    index,
    make_vault,
    snapshot_tree,
)


def clean_tree(tmp_path, seed: int = 0) -> dict[str, bytes]:
    """The snapshots/ tree of a fault-free backup of a sandbox started with `seed` (ids depend on the seed)."""
    with Sandbox(port=0, seed=seed) as sb:
        vault = make_vault(tmp_path / f"clean-{seed}", sb)
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
        return snapshot_tree(vault)


def faulty_backup(tmp_path, seed: int, rate: float = 0.2):
    with Sandbox(port=0, fault_rate=rate, seed=seed) as sb:
        vault = make_vault(tmp_path / f"vault-{seed}", sb)
        started = time.monotonic()
        result = cli_run(vault, "-v", "backup")
        elapsed = time.monotonic() - started
        stats = call(sb.url, "GET", "/_sandbox/stats")
    retries = result.stderr.count("; retry ")
    print(f"fault_rate {rate} seed {seed}: {elapsed:.1f} s, {stats['requests']} requests, {retries} retries logged")
    return vault, result, retries


@pytest.mark.parametrize("seed", [1])
def test_a_backup_through_20_percent_faults_equals_a_clean_backup(tmp_path, seed):
    vault, result, retries = faulty_backup(tmp_path, seed)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert retries > 0  # the faults did happen, and were retried
    clean = clean_tree(tmp_path, seed)
    assert snapshot_tree(vault) == clean
    assert committed_tree(vault) == clean


@pytest.mark.chaos
@pytest.mark.parametrize("seed", [2, 3, 4, 5, 7, 11, 23, 42, 99])
def test_chaos_many_seeds_of_faults_equal_a_clean_backup(tmp_path, seed):
    vault, result, _ = faulty_backup(tmp_path, seed, rate=0.3 if seed % 2 else 0.2)
    assert result.exit_code == 0, result.output
    assert snapshot_tree(vault) == clean_tree(tmp_path, seed)


def _export(path: str) -> bool:
    return path.endswith(tuple(f"/versions/{v}" for v in range(1, 10))) and "/flows/" in path


@pytest.mark.parametrize("fault", ["not-json", "truncate", "html", "empty-object-list"])
def test_a_bad_body_once_is_retried_and_never_stored(tmp_path, fault):
    def tamper(method, path, n):
        if method == "POST" and _export(path) and n == 0:
            return {"not-json": (200, b'{"flow": {"id": "abc", "name": '),
                    "truncate": "truncate",
                    "html": (200, b"<html><body>Gateway says hello</body></html>"),
                    "empty-object-list": (502, b"[]")}[fault]
        return None

    with Sandbox(port=0) as sb, Proxy(sb.url, tamper) as proxy:
        vault = make_vault(tmp_path / "vault", sb, url=proxy.url)
        result = cli_run(vault, "backup", "--source", "davinci")
        exports = {k: v for k, v in proxy.seen.items() if k.startswith("POST") and _export(k.split(" ", 1)[1])}
    assert result.exit_code == 0, result.output
    assert exports and all(n == 2 for n in exports.values()), exports  # each export: the bad answer, then one retry
    davinci = {p: d for p, d in clean_tree(tmp_path).items() if p.startswith("davinci/")}
    mine = snapshot_tree(vault)
    assert {p: d for p, d in mine.items() if p.startswith("davinci/")} == davinci
    assert b"Gateway says hello" not in b"".join(mine.values())


def test_a_body_that_is_never_json_fails_that_flow_only(tmp_path, no_backoff):
    """The export of one flow always answers 200 with a non-JSON body: exit 4, that flow named, its copy kept."""
    with Sandbox(port=0) as sb:
        bad = {}

        def tamper(method, path, n):
            if bad and method == "POST" and f"/flows/{bad['id']}/versions/" in path:
                return (200, b"<html>maintenance</html>")
            return None

        with Proxy(sb.url, tamper) as proxy:
            vault = make_vault(tmp_path / "vault", sb, url=proxy.url)
            assert cli_run(vault, "backup", "--source", "davinci").exit_code == 0
            flow_id, entry = sorted(index(vault)["flows"].items())[0]
            before = snapshot_tree(vault)
            bad["id"] = flow_id
            for fid in index(vault)["flows"]:
                call(sb.url, "POST", f"/_sandbox/flows/{fid}/edit", {"/description": "edited"})
            # one commit for the run, which names the failure (version commits name their version only)
            result = cli_run(vault, "backup", "--source", "davinci", "--latest-only")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert entry["name"].strip() in result.stderr and "not JSON" in result.stderr
    folder = f"davinci/flows/{entry['slug']}/"
    after = snapshot_tree(vault)
    assert {p: d for p, d in after.items() if p.startswith(folder)} == \
        {p: d for p, d in before.items() if p.startswith(folder)}
    assert b"maintenance" not in b"".join(after.values())
    assert "FAILED" in git(vault, "log", "-1", "--format=%B")
