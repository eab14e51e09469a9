"""Helpers shared by the backup tests (fixtures are in conftest.py)."""

import json
import subprocess
import urllib.request

from click.testing import CliRunner

from flowvault.cli import cli


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def call(sb, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sb.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def backup(vault, *args):
    return CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), "backup", *args])
