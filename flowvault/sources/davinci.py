"""PingOne DaVinci: export every flow version through the PingOne Platform API (seed 002).

One backup of an environment (reference/davinci-api.md §1.3, §4):
  token -> GET /flows (one page: id, name and the version/date fields that tell whether a flow changed)
  -> for each flow that changed: POST /flows/{id}/versions/{v} with Content-Type
     application/vnd.pingidentity.flowversion.export+json and {includeSubFlows, includeVariableValues}
     (v = currentVersion, or publishedVersion with deployed_only)
  -> split the main flow from `_embedded` subflows: a subflow the environment lists is stored from its own export,
     once; the main flow's meta.json names it ({"subflows": {id: name}}). This part (export_entries) runs in a
     worker process when the backup has one (flowvault.backup.workers).
Also GET /variables (paged with limit/cursor, following _links.next) and GET /davinciApplications with each
application's flowPolicies, secrets redacted, as variables.json and applications.json.
An unchanged environment costs: 1 token + 1 flow list + 1 variables page + 1 application list + 1 per application
(the policies of the applications the last run stored are asked for beside the list, not after it).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowvault.errors import RemoteError
from flowvault.pingone.client import embedded
from flowvault.sources.base import Call, Entry, ListedItem, in_place

SECRET = {"secret": True}

EXPORT_CONTENT_TYPE = "application/vnd.pingidentity.flowversion.export+json"
# The listing fields that change when a flow does (DaVinciFlowResponse in reference/pingone-openapi.yaml).
STAMP_FIELDS = ("currentVersion", "publishedVersion", "updatedAt", "deployedAt", "enabled")
LIST_ATTRIBUTES = ",".join(("id", "name", *STAMP_FIELDS))
VARIABLES_PAGE = 500  # the maximum `limit` of GET /variables
DROP_KEYS = ("_links", "environment")  # HAL links and the environment reference: not config, differ per env


@dataclass(frozen=True)
class Settings:
    environment_id: str
    client_id: str
    client_secret: str = field(metadata=SECRET)
    region: str = "com"  # com | eu | ca | com.au | sg | asia; ignored where api_url/auth_url are given
    api_url: str | None = None  # e.g. https://api.pingone.eu/v1 or a custom domain / the sandbox
    auth_url: str | None = None  # e.g. https://auth.pingone.eu (the token endpoint is {auth_url}/{envID}/as/token)
    token_auth_method: str = "client_secret_basic"  # or client_secret_post
    include_subflows: bool = True
    include_variable_values: bool = True
    deployed_only: bool = False  # keep the published version instead of the current one
    timeout: float = 60.0
    include_variables: bool = True  # variables.json: the environment's variables (values of secrets redacted)
    include_applications: bool = True  # applications.json: DaVinci applications and their flow policies
    # restore: {"<property or variable name>": "<ENV_VAR>"}: where a redacted value's real value comes from
    restore_secrets: dict = field(default_factory=dict)


def _dumps(obj: Any) -> bytes:
    from flowvault.canonical import dumpb

    return dumpb(obj)


def _strip(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in DROP_KEYS}


def _without_links(doc: Any) -> Any:
    """The export without its HAL `_links` (main flow and `_embedded` subflows): they only repeat ids under the
    API's host name, which differs per region, custom domain or sandbox port, and an import never needs them."""
    if not isinstance(doc, dict):
        return doc
    doc = {k: v for k, v in doc.items() if k != "_links"}
    if isinstance(doc.get("_embedded"), list):
        doc["_embedded"] = [_without_links(sub) for sub in doc["_embedded"]]
    return doc


def export_entries(content: bytes, source: str, item_id: str, item_name: str, stamp: dict | None, redactor) -> list:
    """The Entries of one export's body: the flow's, then each embedded subflow's, files in canonical JSON.

    Runs in a worker process (flowvault.backup.workers), so everything it needs comes in its arguments. A ValueError
    means the body is not JSON (the client retries the export, as for any read); an export that is JSON but not
    a usable flow raises RemoteError or InputError."""
    from flowvault.canonical import loads
    from flowvault.normalize import davinci

    doc = _without_links(loads(content))
    what = f"{source}: export of {item_name!r} ({item_id})"
    try:
        bundle = davinci.split_export(doc, redactor=redactor)
    except ValueError as e:  # not the transfer's fault: retrying would not help
        raise RemoteError(f"{what} cannot be read: {e}") from None
    if not bundle.flows:
        raise RemoteError(f"{what} holds no flow")
    main_meta = bundle.flows[0].meta
    if stamp is not None:
        # What is live: the flow's deployed version, from the listing (the export of a version carries the flow's
        # publishedVersion but not when it was deployed). Its own key: denormalize leaves it out of a restore.
        main_meta["deployed"] = {"version": stamp.get("publishedVersion"), "deployedAt": stamp.get("deployedAt")}
    missing = [f for f in ("flowId", "graphData") if f == "flowId" and not main_meta.get("flowId")
               or f in (main_meta.get("absent") or ())]
    if missing or str(main_meta.get("flowId")) != item_id:
        # Every export carries the flow's id and graph; one without them would overwrite a good copy.
        raise RemoteError(f"{what} " + (f"lacks {' and '.join(missing)}" if missing
                                         else f"holds flow {main_meta.get('flowId')!r}"))
    entries = []
    for index, snap in enumerate(bundle.flows):
        flow_id = str(snap.meta.get("flowId") or (item_id if index == 0 else ""))
        if not flow_id:
            continue
        try:
            files = {"flow.json": _dumps(snap.flow), "layout.json": _dumps(snap.layout),
                     "meta.json": _dumps(snap.meta)}
        except ValueError as e:  # a value JSON cannot spell (NaN): the export, not the transfer
            raise RemoteError(f"{what} cannot be stored: {e}") from None
        name = str(snap.flow.get("name") or flow_id)
        if index == 0:
            entries.append(Entry(item_id, item_name or name, files, stamp=stamp))
        else:
            entries.append(Entry(flow_id, name, files, stamp=None, parent=item_id))
    return entries


class Source:
    """Exports one DaVinci environment; `list`, `export` and `extras` are what flowvault.backup.run calls."""

    kind = "flows"  # snapshots/<source>/flows/<slug>/{flow,layout,meta}.json
    nested = True

    def __init__(self, name: str, settings: Settings, *, redactor=None, jobs: int = 8, secret_hint: str | None = None,
                 base_dir: Path | None = None, client=None, call: Call = in_place) -> None:
        from flowvault.normalize.redact import Redactor

        self.name = name
        self.call = call  # runs export_entries: in a worker process when the backup has them, else here
        self.settings = settings
        self.redactor = redactor if redactor is not None else Redactor(None)
        self.env = settings.environment_id
        self.jobs = max(1, jobs)
        from flowvault.pingone.client import PlatformClient

        self.platform = PlatformClient(name, settings, client=client, secret_hint=secret_hint, max_in_flight=jobs)
        self.client = self.platform.http

    def close(self) -> None:
        self.client.close()

    # --- listing ---------------------------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return self.platform.path(*parts)

    def list(self) -> dict[str, Any]:
        """{flow id: ListedItem} of every flow the environment has (RemoteError if the listing fails)."""

        flows: list = []
        pages = self.platform.pages(self._path("flows"), "flows", params={"attributes": LIST_ATTRIBUTES})
        try:
            flows += next(pages)
        except RemoteError as e:
            if e.status != 400:
                raise
            pages = self.platform.pages(self._path("flows"), "flows")  # a server that does not know `attributes`
        for page in pages:  # the spec has no paging for flows; _links.next is followed defensively
            flows += page
        listed: dict[str, ListedItem] = {}
        for n, item in enumerate(flows):
            if not isinstance(item, dict) or not item.get("id"):
                # Without its id the flow cannot be matched to its folder: skipping it would delete that folder.
                raise RemoteError(f"{self.name}: GET {self._path('flows')} -> entry {n} of _embedded.flows has "
                                  f"no id; nothing of this source was changed")
            stamp = {k: item[k] for k in STAMP_FIELDS if k in item}
            version = item.get("publishedVersion" if self.settings.deployed_only else "currentVersion")
            if self.settings.deployed_only and version is None:
                continue  # never deployed: nothing live to keep
            listed[str(item["id"])] = ListedItem(str(item["id"]), str(item.get("name") or item["id"]), stamp,
                                                 {"version": version})
        return listed

    # --- one flow --------------------------------------------------------------------------------------------

    settled = ("flow.json",)  # the files backup hands to settle() before writing them

    def settle(self, fname: str, stored: bytes | None, fresh: bytes) -> bytes:
        """The bytes to store for `fname`: the stored flow.json when the fresh one differs from it only in fields
        the service rewrites by itself (normalize.davinci.SERVICE_REWRITTEN), else the fresh bytes."""
        if fname != "flow.json" or stored is None or stored == fresh:
            return fresh
        import json

        from flowvault.normalize.davinci import only_service_rewrites

        try:
            return stored if only_service_rewrites(json.loads(stored), json.loads(fresh)) else fresh
        except ValueError:  # a stored file that is not JSON any more: the fresh export replaces it
            return fresh

    def export(self, item) -> builtins.list[Entry]:  # `list` here is the method above
        """[Entry of the flow, Entry of each embedded subflow] (RemoteError/InputError if it cannot be exported)."""

        version = item.extra.get("version")
        if version is None:  # a listing without version fields: read the flow itself
            flow = self.client.get_json(self._path("flows", item.id))
            version = flow.get("publishedVersion" if self.settings.deployed_only else "currentVersion")
            if version is None:
                raise RemoteError(f"{self.name}: flow {item.name!r} ({item.id}) has no version to export")
        body = {"includeSubFlows": self.settings.include_subflows,
                "includeVariableValues": self.settings.include_variable_values}
        # The body goes to a worker process as it arrived (bytes): parsing, splitting, redacting and writing
        # canonical JSON there leaves this process's GIL to the threads that wait on the network (issue 8).
        return self.client.post(
            self._path("flows", item.id, "versions", _int_text(version)), retry=True,  # an export is a read
            json=body, headers={"Content-Type": EXPORT_CONTENT_TYPE},
            parse=lambda content: self.call(export_entries, content, self.name, item.id, item.name,
                                                    item.stamp, self.redactor),
        ).data

    # --- stored versions (issue 16) ---------------------------------------------------------------------------

    @property
    def saves_versions(self) -> bool:
        """True: a backup follows every saved version; not with deployed_only, which keeps only what is live."""
        return not self.settings.deployed_only

    def versions(self, item) -> builtins.list[dict]:
        """The flow's stored versions, oldest first: {"version", "alias", "createdAt", "updatedAt", "deployedAt"}
        as GET /flows/{id}/versions gives them (DaVinciFlowVersionResponse); RemoteError if it cannot be read."""
        out = []
        for doc in self.platform.listing(self._path("flows", item.id, "versions"), "versions"):
            if not isinstance(doc, dict) or not isinstance(doc.get("version"), (int, float)):
                continue
            number = doc["version"]
            out.append({"version": int(number) if float(number).is_integer() else number,
                        **{k: doc[k] for k in ("alias", "createdAt", "updatedAt", "deployedAt") if doc.get(k)}})
        return sorted(out, key=lambda v: v["version"])

    # --- environment-wide files ------------------------------------------------------------------------------

    def extras(self, stored=None) -> Iterator[tuple[str, Any]]:
        """("variables.json" | "applications.json", bytes or the exception that stopped it).

        Both are read at once (each is a chain of round trips: pages, then an application's policies), through the
        client, whose max_in_flight (--jobs) caps the requests in flight. `stored(fname)` gives what the last run
        stored, if anything: the policies of the applications it lists are asked for with the application list.
        """
        known = _application_ids(stored("applications.json") if stored else None)
        wanted = [(name, read) for name, read, on in (
            ("variables.json", self._variables, self.settings.include_variables),
            ("applications.json", lambda: self._applications(known), self.settings.include_applications),
        ) if on]
        if not wanted:
            return
        with _pool(min(self.jobs, len(wanted)), f"{self.name}-extras") as pool:
            futures = [(name, pool.submit(lambda read=read: _dumps(read()))) for name, read in wanted]
            for name, future in futures:
                try:
                    yield name, future.result()
                except Exception as e:  # noqa: BLE001 - reported as a failed item, the previous file stays
                    yield name, e

    def _variables(self) -> dict:
        out: dict[str, dict] = {}
        for page in self.platform.pages(self._path("variables"), "variables", params={"limit": VARIABLES_PAGE}):
            for var in page:
                if not isinstance(var, dict):
                    continue
                var = self._redact_variable(_strip(var))
                key = f"{var.get('context', '')}/{var.get('name', var.get('id'))}"
                flow = var.get("flow")
                if isinstance(flow, dict) and flow.get("id"):
                    key += f"@{flow['id']}"  # flow-context variables of different flows may share a name
                if key in out:
                    key += f"#{var.get('id')}"
                out[key] = var
        return {"variables": out}

    def _redact_variable(self, var: dict) -> dict:
        from flowvault.normalize.redact import is_literal_secret

        value = var.get("value")
        secret = var.get("dataType") == "secret" or self.redactor.matches(var.get("name"))
        if secret and value not in (None, "") and not (isinstance(value, dict) and "redacted" in value):
            if var.get("dataType") == "secret" or is_literal_secret(value):
                var = {**var, "value": self.redactor.value(value)}
        return self.redactor.redact_tree(var)

    def _applications(self, known: Sequence[str] = ()) -> dict:
        """applications.json: every application with its flow policies. The policies of the `known` applications
        (the last run's) are asked for at once, beside the application list, instead of one round trip after it:
        an unchanged run's last chain of round trips (token, list, policies) is one shorter (issue 8)."""
        from flowvault.normalize.redact import redact_application, redact_flow_policy

        def policies_of(app_id: str):
            return self.client.get_json(self._path("davinciApplications", app_id, "flowPolicies"))

        out: dict[str, dict] = {}
        # One request per application: concurrent, capped by the client's max_in_flight like every call.
        with _pool(min(self.jobs, max(len(known), 1)), f"{self.name}-policies") as pool:
            early = {app_id: pool.submit(policies_of, app_id) for app_id in known}
            body = self.client.get_json(self._path("davinciApplications"))
            apps = [app for app in embedded(body, "davinciApplications") if isinstance(app, dict) and app.get("id")]
            futures = [early.pop(str(app["id"]), None) or pool.submit(policies_of, str(app["id"])) for app in apps]
            for future in early.values():  # applications gone since the last run: their answers are not needed
                future.cancel()
            bodies = [future.result() for future in futures]
        for app, policies_body in zip(apps, bodies, strict=True):
            policies = {}
            for policy in embedded(policies_body, "flowPolicies"):
                if isinstance(policy, dict) and policy.get("id"):
                    policies[str(policy["id"])] = _strip(redact_flow_policy(policy, self.redactor))
            entry = _strip(redact_application(app, self.redactor))
            entry["flowPolicies"] = policies
            out[str(app["id"])] = entry
        return {"applications": out}


def _application_ids(stored: bytes | None) -> list[str]:
    """The application ids of a stored applications.json ([] if there is none or it cannot be read)."""
    import json

    try:
        apps = json.loads(stored)["applications"] if stored else {}
    except (ValueError, KeyError, TypeError):
        return []
    return [str(app_id) for app_id in apps][:100] if isinstance(apps, dict) else []


def _pool(workers: int, prefix: str):
    import concurrent.futures

    return concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=prefix)


def _int_text(version: Any) -> str:
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    return str(version)
