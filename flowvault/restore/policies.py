"""Flow policies of the target that run a restored flow, and their version pins (issue 17).

A distribution with version -1 runs the flow's deployed version, so `--deploy` changes what it runs without touching
the policy. A distribution pinned to a version keeps running that version: with `--deploy`, restore moves the pin to
the version it deployed (`PUT .../flowPolicies/{id}`), so that the policy runs what was restored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flowvault.restore.plan import LATEST, NEW_ID

POLICY_KEYS = ("name", "status", "flowDistributions", "trigger")  # DaVinciFlowPolicyReplaceRequest


@dataclass
class PolicyStep:
    """A flow policy of the target that runs a flow of the plan."""

    application: str
    app_id: str
    policy: str
    policy_id: str
    flow: str
    flow_id: str
    pin: Any  # the distribution's version: -1 (or none) runs the deployed version
    runs: int | None  # the version it runs now
    action: str = "unchanged"  # "update" when --deploy moves its pin
    new_pin: Any = None
    runs_after: int | None = None
    previous: dict = field(default_factory=dict, repr=False)  # the policy as the target held it
    kind: str = "policy"

    @property
    def name(self) -> str:
        return f"{self.application}/{self.policy}"

    @property
    def latest(self) -> bool:
        return self.pin in LATEST

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "action": self.action, "id": self.policy_id,
                "application": self.application, "flow": self.flow, "flow_id": self.flow_id,
                "version": self.pin, "new_version": self.new_pin, "runs": self.runs, "runs_after": self.runs_after}


def plan_policies(policies: list[tuple[dict, dict]], flow_steps, *, deploy: bool) -> list[PolicyStep]:
    """A PolicyStep per (policy, distribution of a flow of `flow_steps`) of the target's `policies`."""
    wanted = {s.target_id: s for s in flow_steps if s.target_id and s.target_id != NEW_ID}
    out = []
    for app, policy in policies:
        for dist in policy.get("flowDistributions") or []:
            step = wanted.get(dist.get("id")) if isinstance(dist, dict) else None
            if step is None:
                continue
            pin = dist.get("version", -1)
            runs = step.deployed_version if pin in LATEST else pin
            p = PolicyStep(str(app.get("name") or app.get("id")), str(app.get("id")),
                           str(policy.get("name") or policy.get("id")), str(policy.get("id")), step.name,
                           step.target_id, pin, runs, previous=copy.deepcopy(policy))
            if deploy and (step.action != "unchanged" or step.version_before != step.deployed_version):
                if pin in LATEST:
                    p.runs_after = None  # known once deployed (settle)
                else:
                    p.action = "update"
            out.append(p)
    return out


def settle(steps: list[PolicyStep], flow_steps) -> None:
    """Guarantees each policy step says the version its policy runs (and pins) after the flows were deployed."""
    by_id = {s.target_id: s for s in flow_steps}
    for p in steps:
        flow = by_id.get(p.flow_id)
        deployed = flow.deployed_after if flow is not None and flow.deployed else None
        if p.action == "update":
            p.new_pin = deployed
            p.runs_after = deployed if deployed is not None else p.runs
        else:
            p.runs_after = deployed if p.latest and deployed is not None else p.runs


def replace_body(policy: dict, flow_id: str | None = None, version: Any = None) -> dict:
    """The ReplaceRequest of `policy`, its distributions of `flow_id` pinned to `version` when given."""
    body = {k: copy.deepcopy(policy[k]) for k in POLICY_KEYS if k in policy}
    if flow_id is not None:
        for dist in body.get("flowDistributions") or []:
            if isinstance(dist, dict) and dist.get("id") == flow_id and dist.get("version") not in LATEST:
                dist["version"] = version
    return body
