"""Secrets never land: the sandbox's canary SBXSECRET and the FLOWVAULT_SANDBOX_SECRET value appear in no
snapshot, no commit of the history, no output of any command (-v, -vv), no cassette, JUnit or Markdown file; and
the fingerprints are keyed, so no unkeyed hash of a secret (which a dictionary attack could reverse) is stored."""

from __future__ import annotations

import hashlib
import subprocess

from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.sandbox.server import Sandbox
from tests.reliability.reliability_helpers import (
    CANARY,
    REDACT_KEY,
    ROOT,
    SECRET,
    call,
    flowvault_cmd,
    git,
    index,
    make_vault,
    subprocess_env,
)


def sandbox_secrets(sb) -> set[str]:
    """Every string the sandbox holds that is a secret (contains the canary), plus the credential itself."""
    found = {SECRET}

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)
        elif isinstance(node, str) and CANARY in node:
            found.add(node)

    for state in sb.ctx.state.values():
        walk(getattr(state, "data", state) if not isinstance(state, (dict, list)) else state)
    return found


def forbidden(secrets: set[str]) -> list[str]:
    """The secrets, and their unkeyed hashes (full and as 12-hex fingerprints)."""
    out = {CANARY, SECRET}
    for s in secrets:
        for algo in ("sha256", "sha1", "md5"):
            digest = hashlib.new(algo, s.encode()).hexdigest()
            out |= {digest, digest[:12]}
    return sorted(out)


def assert_clean(where: str, text: str, needles: list[str]) -> None:
    hits = [n for n in needles if n in text]
    assert hits == [], f"{where} leaks {hits}"


def test_no_secret_in_snapshots_history_outputs_junit_markdown_or_cassettes(tmp_path):
    outputs: dict[str, str] = {}
    with Sandbox(port=0) as sb:
        secrets = sandbox_secrets(sb)
        assert len(secrets) > 2  # the sandbox does hold canary secrets: the test greps for something real
        needles = forbidden(secrets)
        vault = make_vault(tmp_path / "vault", sb)
        cfg = str(vault / "flowvault.toml")

        def run(name, *args, codes=(0,)):
            for verbosity in ("-v", "-vv"):
                result = CliRunner().invoke(cli, ["--config", cfg, verbosity, *args])
                assert result.exit_code in codes, (name, verbosity, result.output)
                outputs[f"{name} {verbosity} stdout"] = result.stdout
                outputs[f"{name} {verbosity} stderr"] = result.stderr

        run("backup", "backup")
        flows = index(vault)["flows"]
        for flow_id in flows:
            call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": "leak test edit"})
        run("backup 2", "backup", "--full")
        for fmt in ("text", "markdown", "json"):
            run(f"diff {fmt}", "diff", "HEAD~1", "HEAD", "--format", fmt, "--level", "all")
        run("log", "log")
        run("log json", "log", "--format", "json")
        for entry in flows.values():
            run(f"show {entry['slug']}", "show", entry["slug"])
        run("show mermaid", "show", next(iter(flows.values()))["slug"], "--format", "mermaid")
        junit = tmp_path / "smoke.xml"
        run("smoke junit", "smoke", "--junit", str(junit), codes=(0, 1))
        run("smoke markdown", "smoke", "--format", "markdown", codes=(0, 1))
        run("smoke json", "smoke", "--format", "json", codes=(0, 1))
        run("restore dry-run", "restore", "full-basic", "--to", "davinci", "--dry-run")
    for verbosity in ("-vv",):  # -vv logs everything -v does, and the HTTP debug lines on top
        demo = subprocess.run(flowvault_cmd(verbosity, "demo", "--keep", str(tmp_path / f"demo{verbosity}")),
                              env=subprocess_env(), capture_output=True, text=True, timeout=240)
        assert demo.returncode == 0, demo.stderr[-2000:]
        outputs[f"demo {verbosity}"] = demo.stdout + demo.stderr

    for name, text in outputs.items():
        assert_clean(name, text, needles)
    assert junit.is_file()
    assert_clean("smoke.xml", junit.read_text("utf-8"), needles)
    for root in [vault, tmp_path / "demo-vv"]:
        for path in (root / "snapshots").rglob("*"):
            if path.is_file():
                assert_clean(str(path), path.read_text("utf-8", errors="replace"), needles)
        history = git(root, "log", "-p", "--all", "--format=%H%n%B")
        assert_clean(f"git history of {root.name}", history, needles)
        assert "hmac-sha256:" in history  # secrets are there, as keyed fingerprints only
    for path in (ROOT / "cassettes").rglob("*"):
        if path.is_file():
            assert_clean(str(path), path.read_text("utf-8", errors="replace"), [CANARY, SECRET])


def test_without_a_key_no_fingerprint_is_stored_and_the_run_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY")
    with Sandbox(port=0) as sb:
        needles = forbidden(sandbox_secrets(sb))
        vault = make_vault(tmp_path / "vault", sb)
        result = CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), "backup"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("FLOWVAULT_REDACT_KEY is not set") == 1
    text = "".join(p.read_text("utf-8") for p in (vault / "snapshots").rglob("*.json"))
    assert '"redacted": true' in text and "hmac-sha256:" not in text
    assert_clean("vault without key", text + git(vault, "log", "-p", "--all"), needles)


def test_fingerprints_depend_on_the_key_so_the_vault_alone_cannot_confirm_a_guess(tmp_path, monkeypatch):
    prints = []
    for key in (REDACT_KEY, "another-key-entirely-0b7"):
        monkeypatch.setenv("FLOWVAULT_REDACT_KEY", key)
        with Sandbox(port=0) as sb:
            vault = make_vault(tmp_path / key, sb)
            assert CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), "backup"]).exit_code == 0
        text = "".join(p.read_text("utf-8") for p in sorted((vault / "snapshots").rglob("*.json")))
        import re

        prints.append(sorted(set(re.findall(r"hmac-sha256:[0-9a-f]{12}", text))))
    assert prints[0] and prints[1] and not set(prints[0]) & set(prints[1])
