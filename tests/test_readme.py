"""The README stays true: its configuration example is valid, and its set-up test command is what CI runs."""

import re
from pathlib import Path

from flowvault.config import parse_config

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_configuration_example_is_a_valid_flowvault_toml():
    section = README.split("## Configuration", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    names = set(re.findall(r"\$\{(\w+)\}", example))
    config = parse_config(example, ROOT / "flowvault.toml", env={name: f"value-of-{name}" for name in names})
    assert {"prod", "idm"} <= set(config.sources)
    assert {"davinci", "invision", "smartflows", "idm"} == {launcher.type for launcher in config.launchers.values()}


def test_ci_runs_the_readme_test_command():
    command = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line][0].strip()
    assert command in README
