"""flowvault.pingone.client: a 403 right after a role grant is repeated briefly; a lasting 403 is an AuthError."""

import pytest
from helpers import ScriptedServer

from flowvault.errors import AuthError
from flowvault.http.client import Client
from flowvault.pingone.client import FORBIDDEN_RETRIES, PlatformClient

FORBIDDEN = (403, {}, {"code": "ACCESS_FAILED", "message": "The request could not be completed. You do not have "
                                                           "access to this resource."})
OK = (200, {}, {"_embedded": {"flows": [{"id": "f1"}]}, "_links": {}})


class Settings:
    environment_id = "env-1"


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.stop()


def _platform(server, slept):
    client = Client(server.url, source="prod", sleep=slept.append, forbidden_retries=FORBIDDEN_RETRIES)
    return PlatformClient("prod", Settings(), client=client)


def test_a_403_after_a_role_grant_is_retried_briefly(server):
    server.script("/environments/env-1/flows", FORBIDDEN, FORBIDDEN, OK)
    slept = []
    assert _platform(server, slept).listing("/environments/env-1/flows", "flows") == [{"id": "f1"}]
    assert slept == list(FORBIDDEN_RETRIES[:2])


def test_a_lasting_403_is_an_auth_error_after_a_few_seconds(server):
    server.script("/environments/env-1/flows", FORBIDDEN)
    slept = []
    with pytest.raises(AuthError, match="403"):
        _platform(server, slept).listing("/environments/env-1/flows", "flows")
    assert slept == list(FORBIDDEN_RETRIES) and sum(slept) <= 5
    assert server.calls["/environments/env-1/flows"] == 1 + len(FORBIDDEN_RETRIES)


def test_the_platform_client_made_from_settings_retries_403():
    from flowvault.sources.davinci import Settings as DaVinciSettings

    settings = DaVinciSettings(environment_id="e", client_id="c", client_secret="s", api_url="http://127.0.0.1:9/v1",
                               auth_url="http://127.0.0.1:9")
    assert PlatformClient("prod", settings).http.forbidden_retries == FORBIDDEN_RETRIES
