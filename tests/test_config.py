import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from flowvault import masking
from flowvault.config import Config, load_config, parse_config
from flowvault.errors import ConfigError
from flowvault.launch import LAUNCHERS
from flowvault.pingone.regions import REGIONS, region_urls
from flowvault.sources import SOURCES

ENV = {"FLOWVAULT_PROD_CLIENT_SECRET": "prod-secret-value", "DV_SIGNON_API_KEY": "signon-api-key",
       "IDM_PASSWORD": "idm-pass"}

GOOD = """
[vault]
path = "vault"
remote = "origin"
redact = ["*pin*"]

[sources.prod]
type = "davinci"
region = "eu"
environment_id = "env-1"
client_id = "client-1"
client_secret = "${FLOWVAULT_PROD_CLIENT_SECRET}"
token_auth_method = "client_secret_post"
include_variable_values = false
timeout = 30

[sources.idm]
type = "idm"
url = "https://idm.example.com/openidm"
username = "${IDM_PASSWORD}"
password = "${IDM_PASSWORD}"
workflow_dir = "idm-project/workflow"

[launchers.sign-on]
type = "davinci"
company_id = "env-1"
policy_id = "pol-1"
api_key = "${DV_SIGNON_API_KEY}"
input = { userId = "42", nested = { list = [1, 2] } }
expect = { status = "success", json = { ok = true } }
timeout = 120
"""

# one table that is valid, so each bad case below changes exactly one thing
SOURCE = """
[sources.prod]
type = "davinci"
environment_id = "env-1"
client_id = "client-1"
client_secret = "${FLOWVAULT_PROD_CLIENT_SECRET}"
"""


def parse(text, env=ENV):
    return parse_config(textwrap.dedent(text), Path("/cfg/flowvault.toml"), env=env)


def error_of(text, env=ENV) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, env)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("/cfg/flowvault.toml")
    return message


def test_good_file():
    config = parse(GOOD)
    assert isinstance(config, Config)
    assert config.vault.path == Path("/cfg/vault").resolve()
    assert config.vault.remote == "origin" and config.vault.redact == ("*pin*",)

    prod = config.sources["prod"]
    assert prod.type == "davinci"
    assert type(prod.settings).__module__ == "flowvault.sources.davinci"
    assert prod.settings.client_secret == "prod-secret-value"
    assert prod.settings.region == "eu"
    assert prod.settings.token_auth_method == "client_secret_post"
    assert prod.settings.include_variable_values is False
    assert prod.settings.timeout == 30.0 and isinstance(prod.settings.timeout, float)
    assert prod.secret_hint == "FLOWVAULT_PROD_CLIENT_SECRET"
    assert config.sources["idm"].settings.workflow_dir == "idm-project/workflow"

    signon = config.launchers["sign-on"]
    assert type(signon.settings).__module__ == "flowvault.launch.davinci"
    assert signon.settings.api_key == "signon-api-key"
    assert signon.input == {"userId": "42", "nested": {"list": [1, 2]}}
    assert signon.expect == {"status": "success", "json": {"ok": True}}
    assert signon.timeout == 120.0
    assert signon.secret_hint == "DV_SIGNON_API_KEY"


def test_defaults_and_empty_file():
    config = parse("")
    assert config.sources == {} and config.launchers == {}
    assert config.vault.path == Path("/cfg").resolve()
    prod = parse(SOURCE).sources["prod"].settings
    assert prod.region == "com" and prod.include_subflows is True


def test_resolved_secrets_are_masked():
    parse(SOURCE, {"FLOWVAULT_PROD_CLIENT_SECRET": "a-fresh-secret-4711"})
    assert masking.mask("token a-fresh-secret-4711 here") == "token *** here"


def test_load_config_reads_the_file_and_resolves_paths_from_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", "from-the-environment")
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "flowvault.toml"
    path.write_text('[vault]\npath = ".."\n' + SOURCE)
    config = load_config(path)
    assert config.vault.path == tmp_path.resolve()
    assert config.sources["prod"].settings.client_secret == "from-the-environment"
    assert config.resolve("x/y") == (tmp_path / "conf" / "x" / "y").resolve()


def test_missing_file():
    with pytest.raises(ConfigError, match="no such file"):
        load_config("/nonexistent/flowvault.toml")


def test_unknown_source_type_lists_valid_types():
    message = error_of(SOURCE.replace('"davinci"', '"davinchi"'))
    assert message == (
        "/cfg/flowvault.toml: [sources.prod] unknown type 'davinchi'; did you mean 'davinci'? "
        f"valid types: {', '.join(SOURCES)}"
    )


def test_unknown_launcher_type_lists_valid_types():
    message = error_of('[launchers.x]\ntype = "zapier"\n')
    assert message == f"/cfg/flowvault.toml: [launchers.x] unknown type 'zapier'; valid types: {', '.join(LAUNCHERS)}"


def test_missing_type():
    assert "[sources.prod] missing required key 'type'" in error_of(SOURCE.replace('type = "davinci"', ""))


def test_missing_required_key():
    message = error_of(SOURCE.replace('client_id = "client-1"', ""))
    assert message == "/cfg/flowvault.toml: [sources.prod] missing required key 'client_id'"


def test_missing_required_launcher_key():
    message = error_of('[launchers.x]\ntype = "invision"\nurl = "https://a.example"\n'
                       'api_key = "${DV_SIGNON_API_KEY}"\n')
    assert message == "/cfg/flowvault.toml: [launchers.x] missing required key 'dataflow_id'"


def test_literal_secret_is_refused_without_echoing_it():
    message = error_of(SOURCE.replace('"${FLOWVAULT_PROD_CLIENT_SECRET}"', '"hunter2-literal"'))
    assert "[sources.prod] client_secret is a secret" in message
    assert "${FLOWVAULT_PROD_CLIENT_SECRET}" in message  # the suggested reference
    assert "hunter2" not in message


def test_secret_with_text_around_the_reference_is_a_literal():
    message = error_of(SOURCE.replace('"${FLOWVAULT_PROD_CLIENT_SECRET}"', '"pre-${FLOWVAULT_PROD_CLIENT_SECRET}"'))
    assert "client_secret is a secret" in message and "pre-" not in message


def test_unset_secret_variable():
    message = error_of(SOURCE, env={})
    assert message == (
        "/cfg/flowvault.toml: [sources.prod] client_secret: "
        "environment variable FLOWVAULT_PROD_CLIENT_SECRET is not set"
    )


def test_unset_variable_in_a_plain_string():
    message = error_of(SOURCE.replace('"client-1"', '"${CLIENT_ID_VAR}"'))
    assert message == "/cfg/flowvault.toml: [sources.prod] client_id: environment variable CLIENT_ID_VAR is not set"
    config = parse(SOURCE.replace('"client-1"', '"id-${CLIENT_ID_VAR}"'), {**ENV, "CLIENT_ID_VAR": "7"})
    assert config.sources["prod"].settings.client_id == "id-7"


def test_bad_toml_names_line_and_column():
    message = error_of('[vault]\npath = "."\n\n[sources.prod]\ntype "davinci"\n')
    assert message.startswith("/cfg/flowvault.toml:5:6: expected '='"), message


def test_wrong_value_type():
    message = error_of(SOURCE + "include_subflows = \"yes\"\n")
    assert message == (
        "/cfg/flowvault.toml: [sources.prod] include_subflows must be true or false, not 'yes' (a string), "
        "e.g. include_subflows = true"
    )
    message = error_of(SOURCE + "timeout = true\n")
    assert "[sources.prod] timeout must be a number, not true (a boolean)" in message
    message = error_of(SOURCE.replace('"client-1"', "12"))
    assert "[sources.prod] client_id must be a string, not 12 (a number)" in message


def test_unknown_key_suggests_the_close_one():
    message = error_of(SOURCE + 'client_secre = "x"\n')
    assert message == "/cfg/flowvault.toml: [sources.prod] unknown key 'client_secre'; did you mean 'client_secret'?"


def test_unknown_key_without_close_match_lists_keys():
    message = error_of('[vault]\nzzz = 1\n')
    assert message == ("/cfg/flowvault.toml: [vault] unknown key 'zzz'; "
                       "valid keys: path, remote, redact, redact_key_file")
    assert "did you mean 'sources'?" in error_of('[source.prod]\ntype = "davinci"\n')


def test_unknown_region_lists_valid_regions():
    message = error_of(SOURCE + 'region = "us"\n')
    assert message == f"/cfg/flowvault.toml: [sources.prod] unknown region 'us'; valid regions: {', '.join(REGIONS)}"


def test_bad_choice_and_url():
    assert "token_auth_method = 'basic' is not one of: client_secret_basic, client_secret_post" in error_of(
        SOURCE + 'token_auth_method = "basic"\n'
    )
    assert "api_url must start with http:// or https://" in error_of(SOURCE + 'api_url = "api.pingone.com"\n')


def test_launcher_common_keys():
    base = ('[launchers.x]\ntype = "smartflows"\nurl = "https://sf.example"\nflow_id = "f"\n'
            'api_key = "${DV_SIGNON_API_KEY}"\n')
    assert parse(base).launchers["x"].timeout == 300.0
    assert "expect: unknown key 'stat'; did you mean 'status'?" in error_of(base + 'expect = { stat = "ok" }\n')
    assert "expect.json must be a table" in error_of(base + "expect = { json = 3 }\n")
    assert "timeout must be a positive number" in error_of(base + "timeout = 0\n")
    assert "input must be a table" in error_of(base + 'input = "x"\n')


def test_regions():
    urls = region_urls("com.au")
    assert urls.api == "https://api.pingone.com.au/v1"
    assert urls.auth == "https://auth.pingone.com.au"
    assert urls.orchestrate == "https://orchestrate-api.pingone.com.au/v1"
    assert set(REGIONS) == {"com", "eu", "ca", "com.au", "sg", "asia"}
    with pytest.raises(ConfigError, match="valid regions: com, eu, ca, com.au, sg, asia"):
        region_urls("us")


def test_bad_config_makes_a_command_exit_2_with_one_line(tmp_path, monkeypatch):
    from flowvault.cli import cli

    # Commands are being written by others; this one loads the config the way they all do (AppContext.config()).
    @click.command("config-probe")
    @click.pass_obj
    def probe(app):
        app.config()

    bad = tmp_path / "bad.toml"
    bad.write_text(SOURCE + 'client_secre = "x"\n')
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", "prod-secret-value")
    cli.add_command(probe)
    try:
        result = CliRunner().invoke(cli, ["--config", str(bad), "config-probe"])
    finally:
        cli.commands.pop("config-probe", None)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"flowvault: {bad}: [sources.prod] unknown key 'client_secre'; did you mean 'client_secret'?"]


def test_bad_config_makes_vault_dir_fail_with_exit_2(tmp_path):
    """A real code path of the CLI (AppContext.vault_dir reads [vault].path) exits 2 on a bad file."""
    from flowvault.cli.context import AppContext

    bad = tmp_path / "bad.toml"
    bad.write_text("[vault\n")
    with pytest.raises(ConfigError) as info:
        AppContext(config_path=str(bad)).vault_dir()
    assert int(info.value.exit_status) == 2
    assert str(info.value).startswith(f"{bad}:1:")
