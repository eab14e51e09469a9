"""--write-config and the `flowvault sandbox` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from flowvault.sandbox.server import Sandbox

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_write_config_is_complete_and_accepted(tmp_path, monkeypatch):
    from flowvault.config import load_config

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    with Sandbox() as sb:
        path = sb.write_config(tmp_path / "flowvault.toml")
        text = path.read_text()
        doc = tomllib.loads(text)
        assert doc["vault"] == {"path": "."}
        dv = doc["sources"]["davinci"]
        assert dv["type"] == "davinci" and dv["api_url"] == f"{sb.url}/v1" and dv["auth_url"] == sb.url
        assert dv["client_secret"] == "${FLOWVAULT_SANDBOX_SECRET}"
        assert {"davinci-ok", "davinci-fail"} <= set(doc["launchers"])
        assert "SBXSECRET" not in text and "= \"sandbox\"" not in text
        config = load_config(path)
        assert config.sources["davinci"].settings.client_secret == "sandbox"
        assert config.launchers["davinci-ok"].settings.runtime_url == f"{sb.url}/v1"
        # the written credentials work against this sandbox
        token = requests.post(f"{dv['auth_url']}/{dv['environment_id']}/as/token",
                              data={"grant_type": "client_credentials"}, auth=(dv["client_id"], "sandbox"), timeout=5)
        assert token.status_code == 200


def test_write_config_has_ok_and_fail_launchers_for_every_module_present(tmp_path):
    with Sandbox() as sb:
        doc = tomllib.loads(sb.write_config(tmp_path / "f.toml").read_text())
        for module in sb.modules:
            if hasattr(module, "config_launchers"):
                names = set(module.config_launchers(sb.url))
                assert names <= set(doc["launchers"])
                types = {doc["launchers"][n]["type"] for n in names}
                assert all(f"{t}-ok" in doc["launchers"] and f"{t}-fail" in doc["launchers"] for t in types)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_sandbox_command_serves_until_interrupted(tmp_path):
    config = tmp_path / "flowvault.toml"
    proc = subprocess.Popen([sys.executable, "-m", "flowvault", "sandbox", "--port", "0",
                             "--write-config", str(config)],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "FLOWVAULT_SANDBOX_SECRET": "sandbox"})
    try:
        deadline = time.monotonic() + 20
        while not config.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert config.exists()
        url = tomllib.loads(config.read_text())["sources"]["davinci"]["auth_url"]
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).json()["requests"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert "listening on http://127.0.0.1:" in err
