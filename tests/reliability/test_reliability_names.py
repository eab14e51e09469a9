"""Hostile flow names and workflow files, end to end: served by the sandbox, backed up, listed by their real names."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from importlib import resources

import pytest

from flowvault.sandbox.server import Sandbox
from tests.reliability.reliability_helpers import call, cli_run, git, index, make_vault

NFC = unicodedata.normalize("NFC", "Café Flöw")
NFD = unicodedata.normalize("NFD", "Café Flöw")
HOSTILE = [
    "../x", "../../etc/passwd", "/abs", "/", "CON", "aux.txt", "nul", "COM1.json", ".git", "..", ".", "",
    "a\x00b", "L" * 300, "same", "SAME", "Same", "a/b/c", "a\\b\\c", "..\\..\\win", NFC, NFD,
    "   ", "trailing. ", "tab\there", "new\nline", "emoji 🔐 flow", "ＣＯＮ", "x" * 80 + "y", "x" * 80 + "z",
]


def flow_id(name: str) -> str:
    return hashlib.md5(name.encode("utf-8", "surrogatepass")).hexdigest()


@pytest.fixture
def hostile_flows(tmp_path):
    base = json.loads(resources.files("flowvault.sandbox").joinpath(
        "data/davinci/tfprovider__internal_acctest_flows_simple.json").read_text("utf-8"))
    folder = tmp_path / "flows"
    folder.mkdir()
    for i, name in enumerate(HOSTILE):
        doc = {**base, "flowId": flow_id(name), "name": name}
        (folder / f"flow-{i:02d}.json").write_text(json.dumps(doc), "utf-8")
    return folder


def test_hostile_flow_names_are_stored_distinct_inside_snapshots_and_listed_by_name(tmp_path, hostile_flows):
    outside = sorted(p.name for p in tmp_path.iterdir())
    with Sandbox(port=0, flows_dir=hostile_flows) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        result = cli_run(vault, "backup", "--source", "davinci")
        assert result.exit_code == 0, result.output
        idx = index(vault)["flows"]
        # Every flow stored, under its own folder, each distinct even under case-folding and NFKC.
        assert set(idx) == {flow_id(n) for n in HOSTILE}
        slugs = [e["slug"] for e in idx.values()]
        keys = {unicodedata.normalize("NFKC", s).casefold() for s in slugs}
        assert len(keys) == len(HOSTILE)
        snaps = (vault / "snapshots").resolve()
        for fid, entry in idx.items():
            folder = vault / "snapshots/davinci/flows" / entry["slug"]
            assert folder.resolve().parent == snaps / "davinci" / "flows"
            assert len(entry["slug"].encode()) <= 200 and entry["slug"] not in (".", "..", ".git")
            assert entry["slug"].split(".")[0].lower() not in ("con", "aux", "nul", "com1")
            assert all((folder / f).is_file() for f in ("flow.json", "layout.json", "meta.json"))
            name = json.loads((folder / "flow.json").read_text("utf-8")).get("name", "")
            real = next(n for n in HOSTILE if flow_id(n) == fid)
            # The real name, byte for byte: flow.json holds it stripped (docs/canonical-format.md), meta.json the rest.
            assert name == real.strip()
            if real.strip() != real:
                assert json.loads((folder / "meta.json").read_text("utf-8"))["name"] == real
        # Nothing escaped: no new file next to the vault, nothing under .git but git's own.
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outside + ["vault"])
        assert not (vault / "x").exists() and not (vault / "abs").exists()
        tracked = git(vault, "ls-files", "-z").split("\0")
        assert all(p.startswith("snapshots/") for p in tracked if p)

        # log, show and diff name them.
        message = git(vault, "log", "-1", "--format=%B")
        log = cli_run(vault, "log", "--format", "json")
        assert log.exit_code == 0, log.output
        for name in ("../x", "/abs", "CON", "aux.txt", ".git", "same", "SAME", "a/b/c", "a\\b\\c", NFC, "L" * 300):
            assert f"added {name} (" in message or f"added {name.strip()} (" in message, name
        for name in ("../x", "/abs", "aux.txt", ".git", "SAME", "a\\b\\c", NFD, "L" * 300):
            shown = cli_run(vault, "show", name)
            assert shown.exit_code == 0, (name, shown.output)
            assert json.loads(shown.stdout)["name"] == name
        shown = cli_run(vault, "show", flow_id("a\x00b"))  # a NUL cannot be typed: by id
        assert shown.exit_code == 0 and json.loads(shown.stdout)["name"] == "a\x00b"
        ambiguous = cli_run(vault, "show", "same")
        assert ambiguous.exit_code in (0, 2) and "Traceback" not in ambiguous.output

        for name in ("../x", "SAME", "a\\b\\c", "L" * 300, NFD):
            call(sb.url, "POST", f"/_sandbox/flows/{flow_id(name)}/edit", {"/description": "hostile edit"})
        before = git(vault, "rev-parse", "HEAD").strip()
        assert cli_run(vault, "backup", "--source", "davinci").exit_code == 0  # a commit per saved version
    diff = cli_run(vault, "diff", before, "HEAD", "--format", "json")
    assert diff.exit_code == 0, diff.output
    changed = {c["flow"] for c in json.loads(diff.stdout)["changes"]}
    assert changed == {"../x", "SAME", "a\\b\\c", "L" * 300, NFD}
    text = cli_run(vault, "diff", before, "HEAD")
    assert "../x" in text.stdout and "a\\b\\c" in text.stdout
    log = cli_run(vault, "log", flow_id("SAME"))
    assert log.exit_code == 0 and len([ln for ln in log.stdout.splitlines() if ln.strip()]) >= 2, log.output


HOSTILE_KEYS = ["../up", "CON", "aux", ".git", "same", "SAME", "a.b", "ünïcödé", "k" * 300]


def bpmn(key: str) -> str:
    from xml.sax.saxutils import quoteattr

    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'targetNamespace="http://flowvault.test/hostile">\n'
            f'  <process id={quoteattr(key)} name={quoteattr("process " + key)} isExecutable="true">\n'
            '    <startEvent id="start"/>\n    <endEvent id="end"/>\n'
            '    <sequenceFlow id="f1" sourceRef="start" targetRef="end"/>\n  </process>\n</definitions>\n')


def test_hostile_workflow_file_names_and_process_keys(tmp_path):
    wd = tmp_path / "workflow"
    (wd / "sub dir" / "..weird").mkdir(parents=True)
    files = {}
    for i, key in enumerate(HOSTILE_KEYS):
        fname = ["CON.bpmn20.xml", "aux.bpmn20.xml", " spaced .bpmn20.xml", "sub dir/..weird/x.bpmn20.xml",
                 "SAME.BPMN20.XML", "same.bpmn20.xml", "ünï.bpmn20.xml", "-dash.bpmn", "long.bpmn20.xml"][i]
        (wd / fname).write_text(bpmn(key), "utf-8")
        files[key] = fname
    (wd / "broken .bpmn20.xml").write_text("<definitions><process id='x'", "utf-8")  # unreadable: named, not fatal
    with Sandbox(port=0) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        text = (vault / "flowvault.toml").read_text("utf-8")
        import re

        text = re.sub(r'workflow_dir = ".*"', f"workflow_dir = {json.dumps(str(wd))}", text)
        (vault / "flowvault.toml").write_text(text, "utf-8")
        result = cli_run(vault, "backup", "--source", "idm")
    assert result.exit_code == 4, result.output  # the broken file is a failed item
    assert "broken .bpmn20.xml" in result.stderr and "Traceback" not in result.output
    idx = index(vault, "idm")["workflows"]
    assert set(HOSTILE_KEYS) <= set(idx)
    slugs = [idx[k]["slug"] for k in HOSTILE_KEYS]
    assert len({unicodedata.normalize("NFKC", s).casefold() for s in slugs}) == len(slugs)
    root = (vault / "snapshots/idm/workflows").resolve()
    for key in HOSTILE_KEYS:
        xml = vault / "snapshots/idm/workflows" / (idx[key]["slug"] + ".bpmn20.xml")
        assert xml.resolve().parent == root and xml.is_file()
        meta = json.loads((vault / "snapshots/idm/workflows" / (idx[key]["slug"] + ".json")).read_text("utf-8"))
        assert meta["key"] == key and meta["file"] == files[key]
    assert not (tmp_path / "up.bpmn20.xml").exists() and not (vault / "snapshots/up.bpmn20.xml").exists()
    assert all(p.startswith("snapshots/") for p in git(vault, "ls-files", "-z").split("\0") if p)
    message = git(vault, "log", "-1", "--format=%B")
    for key in ("../up", "CON", ".git", "same", "SAME"):
        assert f"added {key} (" in message or f"added process {key} (" in message, (key, message)
