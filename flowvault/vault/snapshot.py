"""A snapshot set: the canonical flows and workflows of one moment, read from a path or a vault ref.

Every reader turns its input into {path relative to snapshots/: bytes} and `from_files` parses that, so a
snapshots/ folder on disk and the same folder at a git ref read alike. Git is reached only through the Vault
(flowvault.vault.repo; no git import here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from flowvault.errors import InputError, UsageError, VaultCorruptError, VaultError

FLOW_FILES = ("flow.json", "layout.json", "meta.json")
BPMN_SUFFIX = ".bpmn20.xml"
#: Environment-wide files of a DaVinci source (DESIGN.md "The vault"), read into Snapshot.environments.
ENV_FILES = ("variables.json", "applications.json")


@dataclass(frozen=True)
class FlowDoc:
    """The canonical triple of one DaVinci flow (docs/canonical-format.md)."""

    flow: dict
    layout: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FlowEntry:
    source: str | None
    slug: str
    doc: FlowDoc

    @property
    def id(self) -> str:
        meta = self.doc.meta or {}
        return str(self.doc.flow.get("id") or meta.get("flowId") or meta.get("id") or "")

    @property
    def name(self) -> str:
        return str(self.doc.flow.get("name") or self.slug)


@dataclass(frozen=True)
class WorkflowEntry:
    """One PingIDM workflow: canonical BPMN bytes and its <key>.json metadata."""

    source: str | None
    key: str
    bpmn: bytes
    meta: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.key

    @property
    def slug(self) -> str:
        return self.key

    @property
    def name(self) -> str:
        return str((self.meta or {}).get("name") or self.key)


@dataclass
class Snapshot:
    """Flows and workflows of one side of a diff; `label` names it ("HEAD~1", a path, "working tree");
    `environments` {source: {"variables.json": doc, "applications.json": doc}} holds the environment-wide files."""

    label: str
    flows: list = field(default_factory=list)
    workflows: list = field(default_factory=list)
    environments: dict = field(default_factory=dict)

    def find(self, wanted: str) -> list:
        """Flows and workflows whose name, folder name (slug) or id is `wanted`, else (`source/flow`) that source's;
        failing that, those it names when case and surrounding blanks are ignored (issue 19)."""
        return find_entries([*self.flows, *self.workflows], wanted)

    def suggest(self, wanted: str, n: int = 3) -> list[str]:
        """Up to `n` flow and workflow names closest to `wanted` (for "did you mean ..."), closest first."""
        return suggest_names([e.name for e in (*self.flows, *self.workflows)], wanted, n)


def find_entries(entries: list, wanted: str) -> list:
    """The entries that `wanted` names (see Snapshot.find): exactly if any does, else ignoring case and blanks."""
    source, sep, rest = wanted.partition("/")
    for same in (lambda a, b: a == b, lambda a, b: a.strip().casefold() == b.strip().casefold()):
        found = [e for e in entries if any(same(wanted, v) for v in (e.name, e.slug, e.id))]
        if not found and sep:
            found = [e for e in entries
                     if same(source, e.source or "") and any(same(rest, v) for v in (e.name, e.slug, e.id))]
        if found:
            return found
    return []


def suggest_names(names: list[str], wanted: str, n: int = 3) -> list[str]:
    """Up to `n` of `names` that contain `wanted` (or it them), then those that look like it, ignoring case."""
    import difflib

    key = wanted.strip().casefold()
    folded: dict[str, str] = {}  # casefolded name -> the first name that folds to it
    for name in names:
        folded.setdefault(name.strip().casefold(), name)
    close = difflib.get_close_matches(key, list(folded), n=n, cutoff=0.6)
    containing = sorted((f for f in folded if key and (key in f or f in key)), key=lambda f: (len(f), f))
    return list(dict.fromkeys(folded[f] for f in [*containing, *close]))[:n]


def did_you_mean(names: list[str]) -> str:
    """'; did you mean 'a' or 'b'?' for a message, or '' when there is nothing close."""
    if not names:
        return ""
    quoted = [repr(name) for name in names]
    listed = " or ".join(quoted) if len(quoted) < 3 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {listed}?"


# --- parsing ----------------------------------------------------------------------------------------------------


def _json(path: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from e


def from_files(files: dict[str, bytes], label: str) -> Snapshot:
    """Parse {path relative to snapshots/: bytes} (<source>/flows/<slug>/*.json, <source>/workflows/...)."""
    snap = Snapshot(label)
    flows: dict[tuple[str, str], dict[str, bytes]] = {}
    workflows: dict[tuple[str, str], dict[str, bytes]] = {}
    for path, data in files.items():
        parts = PurePosixPath(path).parts
        if len(parts) == 4 and parts[1] == "flows" and parts[3] in FLOW_FILES:
            flows.setdefault((parts[0], parts[2]), {})[parts[3]] = data
        elif len(parts) == 3 and parts[1] == "workflows":
            name = parts[2]
            if name.endswith(BPMN_SUFFIX):
                workflows.setdefault((parts[0], name[: -len(BPMN_SUFFIX)]), {})["bpmn"] = data
            elif name.endswith(".bpmn"):  # saved by a BPMN modeller
                workflows.setdefault((parts[0], name[: -len(".bpmn")]), {})["bpmn"] = data
            elif name.endswith(".json"):
                workflows.setdefault((parts[0], name[: -len(".json")]), {})["meta"] = data
        elif len(parts) == 2 and parts[1] in ENV_FILES:
            snap.environments.setdefault(parts[0], {})[parts[1]] = _json(path, data)
    for (source, slug), held in sorted(flows.items()):
        if "flow.json" not in held:
            continue  # layout/meta without flow.json: a half-written folder; nothing to review
        docs = {name: _json(f"{source}/flows/{slug}/{name}", held[name]) if name in held else {}
                for name in FLOW_FILES}
        snap.flows.append(FlowEntry(source, slug, FlowDoc(docs["flow.json"], docs["layout.json"], docs["meta.json"])))
    for (source, key), held in sorted(workflows.items()):
        if "bpmn" not in held:
            continue
        meta = _json(f"{source}/workflows/{key}.json", held["meta"]) if "meta" in held else {}
        snap.workflows.append(WorkflowEntry(source, key, held["bpmn"], meta))
    return snap


def _read_dir(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".fvtmp-" not in p.name}


def from_export(doc: Any, label: str, source: str | None = None) -> Snapshot:
    """A raw DaVinci export document (any shape), normalized on the fly."""
    from flowvault.normalize import davinci

    bundle = davinci.split_export(doc)
    snap = Snapshot(label)
    for flow in bundle.flows:
        doc_ = FlowDoc(flow.flow, flow.layout or {}, flow.meta or {})
        snap.flows.append(FlowEntry(source, str(flow.flow.get("name") or flow.flow.get("id") or "flow"), doc_))
    return snap


def load_path(path: str | Path) -> Snapshot:
    """Read a raw export file, a BPMN file, a flow folder, a source folder, a snapshots/ folder or a vault folder."""
    path = Path(path)
    label = str(path)
    if path.is_file():
        data = path.read_bytes()
        if path.name.endswith(BPMN_SUFFIX) or is_bpmn(data) or _looks_like_xml(path, data):
            _check_bpmn(label, data)
            key = _bpmn_key(path, data)
            meta_file = path.with_name(key + ".json")
            meta = _json(str(meta_file), meta_file.read_bytes()) if meta_file.is_file() else {}
            return Snapshot(label, workflows=[WorkflowEntry(_source_of(path.parent, "workflows"), key, data, meta)])
        if path.name in FLOW_FILES and (path.parent / "flow.json").is_file():
            return load_path(path.parent)
        return from_export(_json(label, data), label)
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    if (path / "flow.json").is_file():  # one flow folder: snapshots/<source>/flows/<slug>/
        files = {f"{_source_of(path, 'flows') or '-'}/flows/{path.name}/{n}": (path / n).read_bytes()
                 for n in FLOW_FILES if (path / n).is_file()}
        snap = from_files(files, label)
        if _source_of(path, "flows") is None:
            snap.flows = [FlowEntry(None, e.slug, e.doc) for e in snap.flows]
        return snap
    if (path / "flows").is_dir() or (path / "workflows").is_dir():  # one source folder
        files = _read_dir(path)
        return from_files({f"{path.name}/{k}": v for k, v in files.items()}, label)
    if (path / "snapshots").is_dir():  # a vault folder
        return from_files(_read_dir(path / "snapshots"), label)
    files = _read_dir(path)
    snap = from_files(files, label)
    if not snap.flows and not snap.workflows and not snap.environments and files:
        raise InputError(f"{path}: no flows found; expected a snapshots/ folder, a flow folder or an export file")
    return snap


def is_bpmn(data: bytes) -> bool:
    """True for an XML document whose root is BPMN 2.0 `definitions`, whatever the file is called (`.bpmn`,
    `.bpmn20.xml`, `.xml`): a BPMN modeller saves `.bpmn`, PingIDM deploys `.bpmn20.xml`."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"http://www.omg.org/spec/BPMN/20100524/MODEL" in head and b"definitions" in head


def _looks_like_xml(path: Path, data: bytes) -> bool:
    """True for a file named as XML or BPMN (`.bpmn`, `.xml`) or whose content starts like XML: read as BPMN, so a
    broken one is reported as XML, never as "not valid JSON"."""
    return path.suffix.lower() in (".bpmn", ".xml") or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _check_bpmn(label: str, data: bytes) -> None:
    """Return None when `data` is a BPMN workflow definition; InputError naming the file (and the line and column
    where the XML breaks) otherwise."""
    from flowvault.normalize import bpmn  # lazy: lxml

    try:
        bpmn.elements(data)
    except InputError as e:
        raise InputError(f"{label}: {e}") from e


def _bpmn_key(path: Path, data: bytes) -> str:
    """The workflow's key: the file name without `.bpmn20.xml` (or its last suffix)."""
    return path.name[: -len(BPMN_SUFFIX)] if path.name.endswith(BPMN_SUFFIX) else path.stem


def _source_of(folder: Path, kind: str) -> str | None:
    """'prod' for snapshots/prod/flows/<slug> (kind 'flows') or snapshots/prod/workflows (kind 'workflows')."""
    parts = folder.resolve().parts
    if kind == "flows" and len(parts) >= 3 and parts[-2] == "flows":
        return parts[-3]
    if kind == "workflows" and len(parts) >= 2 and parts[-1] == "workflows":
        return parts[-2]
    return None


# --- the vault ----------------------------------------------------------------------------------------------


def open_vault(vault_dir: str | Path):
    """The vault at `vault_dir` (flowvault.vault.repo.Vault); UsageError naming the folder if it is not a repo."""
    from flowvault.vault.repo import Vault

    try:
        return Vault.open(vault_dir)
    except VaultError as e:
        raise UsageError(str(e)) from e


def load_ref(vault, ref: str) -> Snapshot:
    """The snapshots/ tree of the vault at git `ref`, read from git objects (no checkout)."""
    try:
        files = vault.read_tree(ref)
    except VaultCorruptError:
        raise
    except VaultError as e:
        raise UsageError(f"{ref!r} is not a file, a folder or a commit of the vault {vault.path}") from e
    try:
        return from_files(files, ref)
    except InputError as e:  # a committed file that does not parse: the vault is damaged, not the input (exit 3)
        raise VaultCorruptError(_unparsable(e, vault.sha_of(ref))) from e


def load_worktree(vault) -> Snapshot:
    """The vault's working tree of snapshots/."""
    root = Path(vault.snapshots)
    try:
        return from_files(_read_dir(root) if root.is_dir() else {}, "working tree")
    except InputError as e:
        raise VaultCorruptError(_unparsable(e, None)) from e


def unit_files(rel: str) -> list[str]:
    """Every file of the flow, workflow or environment file that snapshots/<rel> belongs to ([] for files a diff
    does not read, such as index.json): what must be read on both sides of a commit that changed `rel`."""
    parts = PurePosixPath(rel).parts
    if len(parts) == 4 and parts[1] == "flows":
        return [f"{parts[0]}/flows/{parts[2]}/{name}" for name in FLOW_FILES]
    if len(parts) == 3 and parts[1] == "workflows":
        name = parts[2]
        for suffix in (BPMN_SUFFIX, ".bpmn", ".json"):
            if name.endswith(suffix):
                key = name[: -len(suffix)]
                return [f"{parts[0]}/workflows/{key}{s}" for s in (BPMN_SUFFIX, ".bpmn", ".json")]
    if len(parts) == 2 and parts[1] in ENV_FILES:
        return [rel]
    return []


def load_changed(read, ref: str | None, changed: list[str]) -> Snapshot:
    """The part of the snapshot at `ref` that the paths `changed` (relative to snapshots/) belong to, read blob by
    blob with `read(ref, rel)` (Vault.blobs); an empty snapshot for ref None (before the first commit)."""
    files: dict[str, bytes] = {}
    if ref is not None:
        for rel in sorted({f for path in changed for f in unit_files(path)}):
            data = read(ref, rel)
            if data is not None:
                files[rel] = data
    try:
        return from_files(files, ref or "empty")
    except InputError as e:  # a committed file that does not parse: the vault is damaged (exit 3), as in load_ref
        raise VaultCorruptError(_unparsable(e, str(ref))) from e


def _unparsable(error: InputError, commit: str | None) -> str:
    """The line for a snapshot file that does not parse (InputError "<rel>: <why>"), at `commit` or, for None, in the
    working tree: the same shape as a git object that cannot be read (flowvault.vault.history.damaged)."""
    from flowvault.vault.history import damaged

    rel, _, why = str(error).partition(": ")
    if commit is None:
        return damaged(f"snapshots/{rel}", None, why or "cannot be read",
                       "run `flowvault backup` to restore it from the service")
    return damaged(f"snapshots/{rel}", commit, why or "cannot be read",
                   "the commit holds a damaged file: run `flowvault backup --full` to commit a whole copy")


def has_parent(vault, ref: str) -> bool:
    try:
        vault.read_tree(f"{ref}~1", prefix="")
    except VaultCorruptError:
        raise
    except VaultError:
        return False
    return True


def resolve(args: tuple[str, ...], vault_dir: str | Path) -> tuple[Snapshot, Snapshot]:
    """The two sides of `flowvault diff [OLD [NEW]]` (DESIGN.md "Commands"): two paths need no git at all."""
    args = tuple(a for a in args if a)
    if len(args) > 2:
        raise UsageError("diff takes at most two arguments: OLD and NEW")
    if len(args) == 2 and all(Path(a).exists() for a in args):
        return load_path(args[0]), load_path(args[1])
    if len(args) == 1 and Path(args[0]).exists() and not _is_ref(vault_dir, args[0]):
        raise UsageError(f"{args[0]}: give two paths to compare files or folders (OLD NEW)")
    vault = open_vault(vault_dir)
    if not args:
        new = load_ref(vault, "HEAD")
        # the first commit of a vault: everything in it is new
        old = load_ref(vault, "HEAD~1") if has_parent(vault, "HEAD") else Snapshot("HEAD~1")
        return old, new
    if len(args) == 1:
        return load_ref(vault, args[0]), load_worktree(vault)
    return tuple(load_path(a) if Path(a).exists() else load_ref(vault, a) for a in args)  # type: ignore[return-value]


def _is_ref(vault_dir, arg: str) -> bool:
    try:
        load_ref(open_vault(vault_dir), arg)
    except UsageError:
        return False
    return True


def entry_paths(entry) -> list[str]:
    """The vault paths (relative to the vault folder) that hold a flow or workflow, for `git log -- <paths>`."""
    if isinstance(entry, WorkflowEntry):
        base = f"snapshots/{entry.source}/workflows/{entry.key}"
        return [base + BPMN_SUFFIX, base + ".json"]
    return [f"snapshots/{entry.source}/flows/{entry.slug}"]
