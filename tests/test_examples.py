"""The CI examples under examples/ parse, and use only real, published actions."""

from pathlib import Path

import pytest
import yaml

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "github").glob("*.yml"))

# Published actions the examples may use (owner/name -> major versions that exist).
KNOWN_ACTIONS = {
    "actions/checkout": {"v4"},
    "actions/setup-python": {"v5"},
    "actions/upload-artifact": {"v4"},
    "mikepenz/action-junit-report": {"v4"},
    "marocchino/sticky-pull-request-comment": {"v2"},
}


def _steps(workflow):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_there_are_three_examples():
    assert {p.name for p in EXAMPLES} == {"nightly-backup.yml", "pr-review.yml", "smoke-after-deploy.yml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_uses_real_actions(path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["jobs"], path
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers, f"{path.name} has no trigger"
    for step in _steps(workflow):
        assert "uses" in step or "run" in step
        if "uses" in step:
            action, _, version = step["uses"].partition("@")
            assert version in KNOWN_ACTIONS.get(action, set()), f"{path.name}: unknown action {step['uses']}"
        if "run" in step:
            assert "flowvault" in step["run"] or "git" in step["run"]


def test_every_example_runs_flowvault_with_timeouts():
    for path in EXAMPLES:
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            assert "timeout-minutes" in job, f"{path.name}:{name} has no timeout"


def test_the_nightly_backup_runs_its_environments_side_by_side():
    """`backup --push` replays onto a moved remote (issue 18): the matrix needs no max-parallel: 1 any more."""
    workflow = yaml.safe_load((EXAMPLES[0].parent / "nightly-backup.yml").read_text())
    strategy = workflow["jobs"]["backup"]["strategy"]
    assert strategy.get("max-parallel", len(strategy["matrix"]["source"])) > 1
    run = next(step["run"] for step in _steps(workflow) if "flowvault backup" in step.get("run", ""))
    assert "--push" in run and "git pull" not in run
