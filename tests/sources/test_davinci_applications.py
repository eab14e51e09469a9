"""sources.davinci: applications.json, and the policies of the applications the last run stored asked for early."""

import json
import threading

from flowvault.sources.davinci import Settings, Source

ENV = "5f1d9c4e-2b7a-4c3e-9f60-0a1b2c3d4e5f"


class FakeClient:
    """Answers the two application endpoints; `list_waits_for` makes the application list wait for that event."""

    def __init__(self, apps, policies, list_waits_for=None):
        self.apps, self.policies, self.list_waits_for = apps, policies, list_waits_for
        self.asked = []
        self.policies_asked = threading.Event()
        self.lock = threading.Lock()

    def get_json(self, path, params=None):
        with self.lock:
            self.asked.append(path.rsplit("/", 2)[-2] if path.endswith("/flowPolicies") else "list")
        if path.endswith("/davinciApplications"):
            if self.list_waits_for is not None:
                self.answered_after_a_policy = self.list_waits_for.wait(2)
            return {"_embedded": {"davinciApplications": self.apps}}
        app_id = path.rsplit("/", 2)[-2]
        self.policies_asked.set()
        if app_id not in self.policies:
            from flowvault.errors import RemoteError

            raise RemoteError(f"GET {path} -> 404", status=404)
        return {"_embedded": {"flowPolicies": self.policies[app_id]}}

    def close(self):
        pass


def source(client):
    settings = Settings(environment_id=ENV, client_id="c", client_secret="s", include_variables=False)
    return Source("prod", settings, client=client)


def applications(src, stored=None):
    (name, data), = list(src.extras(stored=(lambda fname: stored.get(fname)) if stored is not None else None))
    assert name == "applications.json" and isinstance(data, bytes), data
    return json.loads(data)["applications"]


APPS = [{"id": "app-1", "name": "Sign-on"}, {"id": "app-new", "name": "Created since"}]
POLICIES = {"app-1": [{"id": "pol-1", "name": "Login", "status": "enabled"}],
            "app-new": [{"id": "pol-2", "name": "Register", "status": "enabled"}]}


def test_the_policies_of_stored_applications_are_asked_for_before_the_list_answers():
    stored = {"applications.json": json.dumps({"applications": {"app-1": {}, "app-gone": {}}}).encode()}
    early = threading.Event()
    client = FakeClient(APPS, POLICIES, list_waits_for=early)
    client.policies_asked = early  # the list answers only once a policy request has been made
    out = applications(source(client), stored)
    assert client.answered_after_a_policy
    assert client.asked.index("app-1") < client.asked.index("app-new")  # app-new is known from the list only
    assert sorted(out) == ["app-1", "app-new"]  # app-gone's answer (a 404) is not used
    assert list(out["app-1"]["flowPolicies"]) == ["pol-1"] and list(out["app-new"]["flowPolicies"]) == ["pol-2"]


def test_without_a_stored_file_the_list_comes_first():
    client = FakeClient(APPS, POLICIES)
    out = applications(source(client), {})
    assert client.asked[0] == "list" and sorted(client.asked[1:]) == ["app-1", "app-new"]
    assert sorted(out) == ["app-1", "app-new"]


def test_a_stored_file_that_cannot_be_read_is_no_hint():
    client = FakeClient(APPS, POLICIES)
    assert sorted(applications(source(client), {"applications.json": b"{not json"})) == ["app-1", "app-new"]
    assert client.asked[0] == "list"
