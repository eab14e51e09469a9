"""Apply a restore plan in dependency order, and put the target back when a step fails (issue 17).

Order: a preflight that validates, before any write, each flow replaced in place as it will be sent; connector
instances (created, if asked), environment variables, subflows (callees first), the flow, a second
pass for references that were not known yet (a subflow cycle, a new flow's own id in its variables), validate,
deploy, flow policies. Every write is sent once and records how to undo it: a created flow, variable or connector
instance is deleted, a replaced flow is reverted to its previous version (and its previously deployed version
deployed again), an updated variable or policy is put back as it was. When a step fails, the undos run newest
first and the error says what failed, what was undone and what could not be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from flowvault.errors import FlowvaultError, RemoteError
from flowvault.restore import bodies
from flowvault.restore.connectors import map_connections
from flowvault.restore.plan import NEW_ID, Plan, Step
from flowvault.restore.policies import replace_body as policy_body
from flowvault.restore.policies import settle
from flowvault.restore.secrets import MissingSecret, missing_line, scrub_secrets
from flowvault.restore.variables import request_body, undo_body


class RestoreFailed(RemoteError):
    """A step of the restore failed; what had been written was undone (or the message names what was not)."""

    def __init__(self, message: str, *, undone: list[str], not_undone: list[str], status: int | None = None):
        super().__init__(message, status=status)
        self.undone = undone
        self.not_undone = not_undone


def prepare(target, plan: Plan, e, step: Step, supplied: Mapping[str, str], *, conn_ids: Mapping[str, str],
            versions: Mapping[str, int | None], current: dict | None) -> tuple[dict, bool]:
    """(the raw export of `e` with every reference known so far pointed at the target, whether some were not
    known yet). Redacted values are filled in or left out (step.secrets says which; an entry with "missing" is a
    string that cannot be sent: check_secrets refuses it)."""
    raw = bodies.rebuild(e)
    map_connections(raw, dict(conn_ids))
    pending = False
    pins: dict[str, Any] = {}
    for remap in step.remaps:
        if remap.via == "plan":
            dest = plan.refs[e.slug][remap.old_id]
            if plan.ids.get(dest, NEW_ID) == NEW_ID:
                pending = True
            if remap.pin is not None:
                if dest in versions:
                    pins[remap.node] = remap.new_pin = versions[dest]
                else:
                    pending = True
        elif remap.via == "target" and remap.pin is not None and remap.new_pin is not None:
            pins[remap.node] = remap.new_pin
    bodies.remap_refs(raw, plan.target_ids(e), pins)
    known = step.target_id if step.target_id and step.target_id != NEW_ID else None
    if known is None and any(isinstance(v, dict) and str(v.get("name", "")).count(bodies.SK) == 2
                             for v in raw.get("variables") or []):
        pending = True  # a new flow's variables name it by id: only known once it is imported
    bodies.rewrite_variables(raw, known, target.env)
    step.secrets = scrub_secrets(raw, current, supplied)
    return raw, pending


def check_secrets(step: Step, target: str) -> None:
    """Raises MissingSecret when a string of `step`'s flow holds redacted secrets nothing supplies."""
    missing = [s for s in step.secrets if s.get("missing")]
    if missing:
        more = f" ({len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingSecret(missing_line(step.name, missing[0], target) + more)


class Applier:
    """Writes a Plan into its target; `say` gets one line per step as it happens."""

    def __init__(self, target, plan: Plan, supplied: Mapping[str, str], *, deploy: bool,
                 say: Callable[[str], None] = lambda line: None) -> None:
        self.target = target
        self.plan = plan
        self.supplied = supplied
        self.deploy = deploy
        self.say = say
        self.undos: list[tuple[str, str, Callable[[], Any]]] = []  # (verb, what, how), see _undo
        self.conn_ids = {c.old_id: c.new_id for c in plan.connectors if c.new_id}
        # plan slug -> the version the target holds after the restore (None: the API did not say)
        self.versions: dict[str, int | None] = {}
        self.written: list[tuple[Any, Step]] = []

    def run(self) -> None:
        """Guarantees every step is applied, or none is left applied (RestoreFailed says what was undone)."""
        current = "preflight"
        try:
            self._preflight()
            current = "connector instances"
            self._connectors()
            current = "variables"
            self._variables()
            current = "flows"
            self._flows()
            current = "validate"
            self._validate()
            if self.deploy:
                current = "deploy"
                self._deploy()
            current = "flow policies"
            self._policies()
        except Exception as err:  # every failure, ours or not, leaves the target as it was
            self._rollback(current, err)

    # --- the steps

    def _preflight(self) -> None:
        """Before the first write: each flow the plan replaces in place, as it will be sent, checked by the
        target's validate action (POST /flows/{id}, #validate+json with {"graphData"}: it saves nothing,
        pingone-openapi.yaml validateFlowByIdAsValidateJson), so that a definition the target rejects is found
        while the target is still as it was (issue 17: an undo is itself a write the target may refuse). References
        that exist only once the restore has written something (a connector instance or a subflow it creates) are
        not judged here; the validate step after the writes checks what the target saved."""
        later = {c.old_id for c in self.plan.connectors if c.action == "create"}
        later |= {d.subflow_id for d in self.plan.dangling if not d.fatal}
        versions: dict[str, int | None] = {}
        for e, step in self.plan.steps:
            if step.action != "update":
                continue
            raw, _ = prepare(self.target, self.plan, e, step, self.supplied, conn_ids=self.conn_ids,
                             versions=versions, current=self.target.flow(step.in_target()))
            check_secrets(step, self.target.name)
            pending = {r.old_id for r in step.remaps
                       if r.via == "plan" and self.plan.ids.get(self.plan.refs[e.slug][r.old_id], NEW_ID) == NEW_ID}
            graph = bodies.replace_body(raw, e).get("graphData")
            answer = self.target.validate(step.in_target(), graph if isinstance(graph, dict) else None) or {}
            self._judge(step, answer, later | pending | {NEW_ID}, "preflight: ")
            self.say(f"{step.kind} {step.name!r}: {self.target.name} accepts it (validated before any write)")

    def _judge(self, step: Step, answer: dict, ignored: set[str], what: str = "") -> None:
        """Raises RemoteError if the validate `answer` has errors, leaving out those about an id in `ignored`."""
        findings = [f for f in ((answer.get("graphData") or {}).get("allLinterErrors") or [])
                    if isinstance(f, dict) and f.get("type", "error") == "error"
                    and not any(i and i in str(f.get("message", "")) for i in ignored)]
        step.findings = findings
        if findings:
            first = findings[0]
            raise RemoteError(f"{self.target.name}: {what}validate {step.name!r} ({step.target_id}) found "
                              f"{len(findings)} error(s), first: {first.get('code')}: {first.get('message')}")

    def _connectors(self) -> None:
        for c in self.plan.connectors:
            if c.action != "create":
                if c.action == "map":
                    self.say(f"connector {c.name!r} ({c.connector}): {c.old_id} -> {c.new_id}")
                continue
            made = self.target.create_connector_instance({"name": c.name, "connector": {"id": c.connector},
                                                          "properties": {}})
            c.new_id = made_id = str(made["id"])
            self.conn_ids[c.old_id] = made_id
            self._undo("delete", f"connector instance {c.name!r} ({made_id})",
                       partial(self.target.delete_connector_instance, made_id))
            self.say(f"connector {c.name!r} ({c.connector}): created {c.new_id} (unconfigured: set it up in "
                     f"DaVinci before the flow runs)")

    def _variables(self) -> None:
        for v in self.plan.variables:
            if v.via != "variables" or v.action == "unchanged":
                continue
            label = f"variable {v.context}/{v.name}"
            if v.action == "create":
                made = self.target.create_variable(request_body(v))
                v.target_id = made_id = str(made["id"])
                self._undo("delete", label, partial(self.target.delete_variable, made_id))
            else:
                self.target.replace_variable(v.target_id, request_body(v))
                previous = undo_body(v.previous or {})
                self._undo("put back", label, partial(self.target.replace_variable, v.target_id, previous))
            self.say(f"{label}: {v.action}d" + (f" ({', '.join(v.changed)})" if v.changed else ""))

    def _flows(self) -> None:
        pending = []
        for e, step in self.plan.steps:
            if step.action == "unchanged":
                self.versions[e.slug] = step.version_before
                continue
            current = self.target.flow(step.in_target()) if step.action == "update" else None
            raw, later = prepare(self.target, self.plan, e, step, self.supplied, conn_ids=self.conn_ids,
                                 versions=self.versions, current=current)
            check_secrets(step, self.target.name)  # planned already; the target may have changed since
            if step.action == "update":
                response = self.target.replace(step.in_target(), bodies.replace_body(raw, e))
                step.version_after = _int(response, "currentVersion")
                self._undo_replace(step)
                self.say(f"{step.kind} {step.name!r}: updated {step.target_id} v{step.version_before} -> "
                         f"v{step.version_after}")
            else:
                response = self.target.import_flow(bodies.import_body(raw, e), (e.doc.meta or {}).get("shape",
                                                                                                     "platform"))
                new_id = (response.get("flow") or {}).get("id") or response.get("id") if isinstance(response, dict) \
                    else None
                if not new_id:
                    raise RemoteError(f"{self.target.name}: the import of {e.name!r} answered without the new "
                                      "flow's id")
                step.target_id = str(new_id)
                step.version_after = _int(response, "version") or _int(response, "currentVersion")
                self._undo("delete", f"{step.kind} {step.name!r} ({step.target_id})",
                           partial(self.target.delete_flow, step.target_id))
                self.say(f"{step.kind} {step.name!r}: created {step.target_id} v{step.version_after}")
            self.plan.ids[e.slug] = step.in_target()
            self.versions[e.slug] = step.version_after
            self.written.append((e, step))
            if later:
                pending.append((e, step))
        # A subflow cycle (or a new flow's variables) refers to ids that exist only now: write those flows again.
        for e, step in pending:
            raw, _ = prepare(self.target, self.plan, e, step, self.supplied, conn_ids=self.conn_ids,
                             versions=self.versions, current=self.target.flow(step.in_target()))
            check_secrets(step, self.target.name)
            response = self.target.replace(step.in_target(), bodies.replace_body(raw, e))
            step.version_after = _int(response, "currentVersion") or step.version_after
            self.versions[e.slug] = step.version_after
            self.say(f"{step.kind} {step.name!r}: references to flows written after it set (v{step.version_after})")
        self.plan.settle_remaps()

    def _validate(self) -> None:
        """What the target saved (its current version: no graph sent), now that every reference exists."""
        ignored = {d.subflow_id for d in self.plan.dangling if not d.fatal}
        for _e, step in self.written:
            self._judge(step, self.target.validate(step.target_id) or {}, ignored)
            self.say(f"{step.kind} {step.name!r}: validated")

    def _deploy(self) -> None:
        # Subflows first: a subflow call with version -1 runs the subflow's deployed version.
        for e, step in self.plan.steps:
            if step.action == "unchanged" and step.version_before == step.deployed_version:
                continue  # already runs what the vault holds
            response = self.target.deploy(step.target_id)
            step.deployed = True
            step.deployed_after = _int(response, "publishedVersion") or self.versions.get(e.slug)
            if step.action != "create":  # a created flow is deleted by its own undo
                self._undo_deploy(step)
            self.say(f"{step.kind} {step.name!r}: deployed v{step.deployed_after}")

    def _policies(self) -> None:
        settle(self.plan.policies, self.plan.flow_steps())
        bodies_by_policy: dict[str, dict] = {}
        for p in self.plan.policies:
            if p.action != "update" or p.new_pin is None:
                continue
            body = bodies_by_policy.get(p.policy_id) or policy_body(p.previous)
            body = policy_body(body, p.flow_id, p.new_pin)
            self.target.replace_policy(p.app_id, p.policy_id, body)
            if p.policy_id not in bodies_by_policy:
                previous = policy_body(p.previous)
                self._undo("put back", f"policy {p.name!r}",
                           partial(self.target.replace_policy, p.app_id, p.policy_id, previous))
            bodies_by_policy[p.policy_id] = body
            self.say(f"policy {p.name!r}: {p.flow!r} pinned v{p.pin} -> v{p.new_pin}")

    # --- undo

    def _undo(self, verb: str, what: str, action: Callable[[], Any], after: str = "") -> None:
        """Record how to undo a write: `verb` `what` `after` ("revert", "flow 'X'", "to v2")."""
        self.undos.append((verb, f"{what}{f' {after}' if after else ''}", action))

    def _undo_replace(self, step: Step) -> None:
        before = step.version_before
        if before is None:
            return
        self._undo("revert", f"{step.kind} {step.name!r}", lambda: self.target.revert(step.target_id, before),
                   f"to v{before}")

    def _undo_deploy(self, step: Step) -> None:
        before, current = step.deployed_version, step.version_before

        def put_back() -> None:
            if not before:
                raise RemoteError("it had no deployed version before, and the API cannot undeploy a flow")
            # Deploy promotes the current version: make the old deployed version current and deploy it; then the
            # old current version is made current again (by the replace's own undo, for a replaced flow).
            self.target.revert(step.target_id, before)
            self.target.deploy(step.target_id)
            if step.action == "unchanged" and current is not None and current != before:
                self.target.revert(step.target_id, current)

        self._undo("deploy", f"{step.kind} {step.name!r}", put_back, f"v{before} again")

    def _rollback(self, where: str, err: BaseException) -> None:
        """Run the undos, newest first, one line each as it happens ("undone: deleted variable ..."); then raise
        RestoreFailed saying what failed and, only if something could not be undone, what (issue 17 review)."""
        undone, not_undone = [], []
        for verb, what, action in reversed(self.undos):
            try:
                action()
            except Exception as undo_err:  # keep undoing the rest: each undo stands alone
                reason = str(undo_err).splitlines()[0] if str(undo_err) else type(undo_err).__name__
                not_undone.append(f"could not {verb} {what} ({_without(self.target.name, reason)})")
            else:
                undone.append(f"{_PAST.get(verb, verb)} {what}")
                self.say(f"undone: {undone[-1]}")
        cause = _without(self.target.name, str(err).splitlines()[0] if str(err) else type(err).__name__)
        message = f"{self.target.name}: restore failed at {where}: {cause}"
        if not self.undos:
            message += "; nothing had been written"
        elif not_undone:
            message += f"; {'; '.join(not_undone)}: put {'that' if len(not_undone) == 1 else 'those'} back by hand" \
                + (" (the rest was undone)" if undone else "")
        else:
            message += "; what it had written was undone: the target is as it was"
        status = err.status if isinstance(err, RemoteError) else None
        if not isinstance(err, FlowvaultError):
            message += " (run with --traceback for details)"
        raise RestoreFailed(message, undone=undone, not_undone=not_undone, status=status) from err


_PAST = {"delete": "deleted", "put back": "put back", "revert": "reverted", "deploy": "deployed"}


def _without(name: str, text: str) -> str:
    """`text` without a leading "<name>: " (the message names the target already)."""
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


def _int(response: Any, key: str) -> int | None:
    value = response.get(key) if isinstance(response, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
