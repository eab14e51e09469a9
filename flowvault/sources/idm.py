"""PingIDM: workflow definitions (BPMN files from workflow_dir + deployed definitions' metadata, seed 004).

The IDM REST API does not return the BPMN XML (reference/idm-and-launchers.md §1.5), so a workflow is two halves:
the file from `workflow_dir` (*.bpmn20.xml, or inside a .bar zip) and the deployed definition's metadata from
GET workflow/processdefinition (`_queryFilter=true`, falling back to `_queryId=query-all-ids` on 400 for OpenIDM
and Wren:IDM, §1.3). Both are keyed by the process key, not by `_id` (`<key>:<version>:<deploymentId>` changes on
every redeploy, §1.4). A key's metadata is read again (GET processdefinition/{_id}) only when its latest `_id`
changed, so an unchanged server costs one query.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowvault.errors import ConfigError, RemoteError, first_line
from flowvault.sources.base import Call, Entry, ListedItem, in_place

SECRET = {"secret": True}
log = logging.getLogger(__name__)

BPMN_SUFFIXES = (".bpmn20.xml", ".bpmn")
XML_SUFFIX = ".bpmn20.xml"
JSON_SUFFIX = ".json"


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://idm.example.com/openidm
    username: str | None = field(default=None, metadata=SECRET)
    password: str | None = field(default=None, metadata=SECRET)
    bearer_token: str | None = field(default=None, metadata=SECRET)  # platform deployments (AM as OIDC provider)
    workflow_dir: str | None = None  # BPMN files (*.bpmn20.xml, *.bar); relative to the config file
    timeout: float = 60.0


def auth_headers(settings: Settings) -> dict[str, str]:
    """IDM's own header credentials (standalone IDM), or a bearer token (platform deployments, §1.2)."""
    if settings.bearer_token:
        return {"Authorization": f"Bearer {settings.bearer_token}"}
    if settings.username or settings.password:
        return {"X-OpenIDM-Username": settings.username or "", "X-OpenIDM-Password": settings.password or ""}
    return {}


def _version(definition: dict) -> int:
    try:
        return int(definition.get("version") or 0)
    except (TypeError, ValueError):
        return 0


class Source:
    """Exports one PingIDM server's workflows; `list`, `export` and `extras` are what flowvault.backup.run calls."""

    kind = "workflows"  # snapshots/<source>/workflows/<key>.bpmn20.xml and <key>.json
    nested = False
    lower_slugs = False  # file names are the process keys, case kept (unique under case-folding all the same)

    def __init__(self, name: str, settings: Settings, *, redactor=None, jobs: int = 8, secret_hint: str | None = None,
                 base_dir: Path | None = None, client=None, call: Call = in_place) -> None:
        from flowvault.normalize.redact import Redactor

        # `call` is not used: a server's few BPMN workflows are normalized in the thread.
        self.name = name
        self.settings = settings
        self.redactor = redactor if redactor is not None else Redactor(None)
        self.workflow_dir: Path | None = None
        if settings.workflow_dir:
            wd = Path(settings.workflow_dir).expanduser()
            self.workflow_dir = wd if wd.is_absolute() else (base_dir or Path.cwd()) / wd
        if client is None and settings.url:
            from flowvault.http.client import Client

            headers = {"Accept-API-Version": "resource=1.0", "X-OpenIDM-NoSession": "true"}
            client = Client(settings.url, source=name, timeout=settings.timeout, auth=auth_headers(settings),
                            secret_hint=secret_hint, max_in_flight=jobs, headers=headers)
        self.client = client
        self._files: dict[str, tuple[str, bytes]] = {}  # key -> (where, canonical xml)
        self._file_errors: dict[str, str] = {}  # file -> why it could not be read
        self._deployed: dict[str, dict] = {}  # key -> latest definition (list item)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # --- listing ---------------------------------------------------------------------------------------------

    def _definitions(self) -> list[dict]:

        try:
            body = self.client.get_json("workflow/processdefinition", params={"_queryFilter": "true"})
        except RemoteError as e:
            if e.status != 400:
                raise
            # OpenIDM <= 6 (Activiti) and Wren:IDM know only _queryId ("Unknown query-id" otherwise), §1.3.
            body = self.client.get_json("workflow/processdefinition", params={"_queryId": "query-all-ids"})
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list):
            raise RemoteError(f"{self.name}: GET workflow/processdefinition -> no `result` list in the response")
        return [d for d in result if isinstance(d, dict)]

    def _scan_files(self) -> None:
        from flowvault.normalize import bpmn

        if self.workflow_dir is None:
            return
        if not self.workflow_dir.is_dir():
            raise ConfigError(f"{self.name}: workflow_dir {self.workflow_dir} is not a folder; "
                              f"fix [sources.{self.name}]")
        for path in sorted(self.workflow_dir.rglob("*")):
            if not path.is_file():
                continue
            lower = path.name.lower()
            rel = path.relative_to(self.workflow_dir).as_posix()
            try:
                if lower.endswith(".bar"):
                    members = _bar_members(bpmn.read_bar(path.read_bytes()))
                    items = [(f"{rel}!{member}", data) for member, data in members]
                elif lower.endswith(BPMN_SUFFIXES):
                    items = [(rel, path.read_bytes())]
                elif lower.endswith(".xml"):
                    # IDM deploys any *.xml of the folder (fileinstall filter ".*\\.bar|.*\\.xml", §1.1); an XML
                    # file that is not BPMN is simply not a workflow.
                    data = path.read_bytes()
                    try:
                        bpmn.process_key(data)
                    except Exception:  # noqa: BLE001
                        continue
                    items = [(rel, data)]
                else:
                    continue
                for where, data in items:
                    key = bpmn.process_key(data)
                    if key in self._files and self._files[key][0] != where:
                        log.warning("%s: process key %r is defined in %s and %s; keeping %s", self.name, key,
                                    self._files[key][0], where, self._files[key][0])
                        continue
                    self._files[key] = (where, bpmn.canonical_xml(data, redact=self.redactor.redact_inline))
            except Exception as e:  # noqa: BLE001 - one unreadable file is a failed item, not a failed run
                self._file_errors[rel] = first_line(e)

    def list(self) -> dict[str, Any]:
        """{process key: ListedItem}: keys deployed on the server or found in workflow_dir."""

        self._scan_files()
        if self.client is not None:
            for definition in self._definitions():
                key = definition.get("key") or str(definition.get("_id", "")).split(":")[0]
                if not key:
                    continue
                if key not in self._deployed or _version(definition) > _version(self._deployed[key]):
                    self._deployed[str(key)] = definition
        listed = {}
        for key in sorted(set(self._files) | set(self._deployed)):
            stamp: dict[str, Any] = {}
            if key in self._deployed:
                stamp["_id"] = self._deployed[key].get("_id")
            if key in self._files:
                where, xml = self._files[key]
                stamp["file"] = where
                stamp["sha256"] = hashlib.sha256(xml).hexdigest()
            name = (self._deployed.get(key) or {}).get("name") or key
            listed[key] = ListedItem(key, str(name), stamp, {"slug_name": key})
        return listed

    def failed_files(self) -> dict[str, str]:
        """Files of workflow_dir that could not be read ({relative path: why}); their previous copies stay."""
        return dict(self._file_errors)

    # --- one workflow ----------------------------------------------------------------------------------------

    def export(self, item) -> builtins.list[Entry]:  # `list` here is the method above
        """[Entry] with <key>.bpmn20.xml (when a file has it) and <key>.json (the metadata, when deployed)."""
        from flowvault.normalize import idm

        files: dict[str, bytes] = {}
        if item.id in self._files:
            files[XML_SUFFIX] = self._files[item.id][1]
        listed = self._deployed.get(item.id)
        if listed is not None:
            definition = listed
            if listed.get("_id"):
                # The list item lacks formProperties / formGenerationTemplate; the read has them (§1.4).
                definition = self.client.get_json(f"workflow/processdefinition/{listed['_id']}")
            meta = self.redactor.redact_tree(idm.normalize_definition(definition))
        else:
            meta = {"key": item.id, "deployed": None}
        if item.id in self._files:
            meta = {**meta, "file": self._files[item.id][0]}
        from flowvault.canonical import dumpb

        files[JSON_SUFFIX] = dumpb(meta)
        return [Entry(item.id, item.name, files, stamp=item.stamp)]

    settled: tuple[str, ...] = ()  # nothing of a workflow is kept as stored: see settle()

    def settle(self, fname: str, stored: bytes | None, fresh: bytes) -> bytes:
        """The fresh bytes: a workflow has no field the server rewrites by itself."""
        return fresh

    def extras(self, stored=None) -> Iterator[tuple[str, Any]]:
        return iter(())


def _bar_members(result: Any) -> list[tuple[str, bytes]]:
    """normalize.bpmn.read_bar's answer as [(member name, BPMN bytes)]."""
    if isinstance(result, dict):
        items = list(result.items())
    else:
        items = [(m if isinstance(m, tuple) else (str(i), m)) for i, m in enumerate(result or [])]
    return [(str(n), d) for n, d in items if str(n).lower().endswith(BPMN_SUFFIXES) or not isinstance(n, str)]
