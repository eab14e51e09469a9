"""Issue 16: every saved flow version its own commit, `backup --history`, and `status` (against the sandbox).

What the tests rely on from the sandbox: `POST /_sandbox/flows/{id}/edit` saves a new version whose createdAt moves
forward; GET /flows lists currentVersion/publishedVersion; GET /flows/{id}/versions lists the stored versions. What
the versions list says (aliases, dates) is read from the sandbox, never assumed.
"""

import json
import subprocess
import urllib.request

from click.testing import CliRunner
from helpers import sandbox_token

from flowvault.cli import cli

SIGN_ON = "7062aa6918f062b6e925c0077c1a3530"  # PingOne Sign On with Registration, Password Reset and Recovery
SIMPLE = "a4a2e9f4fa637b8950ef6306022a979e"


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def call(sb, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(sb.url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def api(sb, path):
    """GET <Platform API>/environments/{env}/<path>, as the sandbox serves it."""
    from flowvault.sandbox import davinci

    return call(sb, "GET", f"/v1/environments/{davinci.ENV_ID}/{path}", token=sandbox_token(sb))


def stats(sb):
    return call(sb, "GET", "/_sandbox/stats")["by_route"]


def spent(sb, before, route_part):
    return sum(n - before.get(route, 0) for route, n in stats(sb).items() if route_part in route)


def run(vault, *args):
    return CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), *args])


def edit(sb, flow_id, description):
    call(sb, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": description})


def index(vault):
    return json.loads((vault / "snapshots/davinci/index.json").read_text())


def files(vault):
    out = {}
    for path in sorted((vault / "snapshots").rglob("*")):
        if path.is_file() and path.name != "index.json":
            out[path.relative_to(vault).as_posix()] = path.read_bytes()
    return out


def commits(vault, *paths):
    return git(vault, "log", "--format=%H", "--", *paths).split()


def test_status_backup_of_every_version_and_history_equal_to_the_incremental_vault(env, tmp_path):
    sb, vault = env
    assert run(vault, "backup").exit_code == 0
    before = stats(sb)
    result = run(vault, "status", "--exit-code")
    assert result.exit_code == 0, result.output

    for i in (1, 2, 3):
        edit(sb, SIGN_ON, f"sign-on edit {i}")
    edit(sb, SIMPLE, "simple edit")
    result = run(vault, "status", "--exit-code", "--format", "json")
    assert result.exit_code == 1, result.output
    flows = {f["id"]: f for f in json.loads(result.stdout)["sources"]["davinci"]["flows"]}
    live = {f["id"]: f for f in api(sb, "flows")["_embedded"]["flows"]}
    sign_on = flows[SIGN_ON]
    assert sign_on["state"] == "behind"
    assert sign_on["latest_version"] - sign_on["vault_version"] == 3
    assert sign_on["deployed_version"] == live[SIGN_ON].get("publishedVersion")
    assert flows[SIMPLE]["state"] == "behind"
    assert {f["state"] for i, f in flows.items() if i not in (SIGN_ON, SIMPLE)} == {"in-sync"}
    text = run(vault, "status").stdout
    assert "behind: vault has version" in text and "simple" in text
    # Listings only: nothing exported, nothing written.
    assert spent(sb, before, "POST /v1/environments/{envID}/flows/{flowID}/versions") == 0
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""

    # The next backup: one commit per saved version (4), in time order, each holding the flow as saved then.
    head = git(vault, "rev-parse", "HEAD").strip()
    before = stats(sb)
    result = run(vault, "backup")
    assert result.exit_code == 0, result.output
    # Cost: one versions listing per moved flow, one export per saved version.
    assert spent(sb, before, "GET /v1/environments/{envID}/flows/{flowID}/versions") == 2
    assert spent(sb, before, "POST /v1/environments/{envID}/flows/{flowID}/versions") == 4
    made = git(vault, "rev-list", f"{head}..HEAD").split()
    assert len(made) >= 4
    slug = index(vault)["flows"][SIGN_ON]["slug"]
    flow_json = f"snapshots/davinci/flows/{slug}/flow.json"
    saved = [json.loads(git(vault, "show", f"{sha}:{flow_json}")).get("description") for sha in made]
    for i in (1, 2, 3):
        assert f"sign-on edit {i}" in saved
    versions = {v["version"]: v for v in api(sb, f"flows/{SIGN_ON}/versions")["_embedded"]["versions"]}
    subjects = git(vault, "log", "--format=%s", f"{head}..HEAD").splitlines()
    for number in range(sign_on["vault_version"] + 1, sign_on["latest_version"] + 1):
        alias = f' "{versions[number]["alias"]}"' if versions[number].get("alias") else ""
        day = versions[number]["createdAt"][:10]
        assert f"{sign_on['name'].strip()}: version {number}{alias} saved {day}" in subjects
    dates = git(vault, "log", "--format=%aI", "--reverse", f"{head}..HEAD").split()
    assert dates == sorted(dates)
    assert run(vault, "status", "--exit-code").exit_code == 0
    meta = json.loads((vault / f"snapshots/davinci/flows/{slug}/meta.json").read_text())
    assert meta["version"] == sign_on["latest_version"]
    assert meta["deployed"]["version"] == live[SIGN_ON].get("publishedVersion")
    assert meta["createdAt"] == versions[sign_on["latest_version"]]["createdAt"]

    # `log FLOW` shows the versions.
    log = run(vault, "log", SIGN_ON).stdout
    assert f"version {sign_on['latest_version']}" in log

    # --history into a fresh vault: one commit per stored version, the same files.
    fresh = tmp_path / "fresh"
    assert run(vault, "init", str(fresh)).exit_code == 0
    (fresh / "flowvault.toml").write_text((vault / "flowvault.toml").read_text())
    result = run(fresh, "backup", "--history")
    assert result.exit_code == 0, result.output
    assert len(commits(fresh, flow_json)) == len(versions)
    assert files(fresh) == files(vault)
    assert run(fresh, "status", "--exit-code").exit_code == 0


def test_a_version_that_fails_keeps_the_chain_honest(env, monkeypatch):
    sb, vault = env
    assert run(vault, "backup", "--source", "davinci").exit_code == 0
    held = index(vault)["flows"][SIGN_ON]["stamp"]["currentVersion"]
    slug = index(vault)["flows"][SIGN_ON]["slug"]
    for i in (1, 2, 3):
        edit(sb, SIGN_ON, f"edit {i}")
    edit(sb, SIMPLE, "simple edit")
    from flowvault.errors import RemoteError
    from flowvault.sources import davinci

    export = davinci.Source.export

    def failing(self, item):
        if item.id == SIGN_ON and item.extra.get("version") == held + 2:
            raise RemoteError("davinci: export -> 500")
        return export(self, item)

    monkeypatch.setattr(davinci.Source, "export", failing)
    head = git(vault, "rev-parse", "HEAD").strip()
    result = run(vault, "backup", "--source", "davinci")
    assert result.exit_code == 4, result.output
    assert f"version {held + 2}" in result.stderr
    saved = [json.loads(git(vault, "show", f"{sha}:snapshots/davinci/flows/{slug}/flow.json")).get("description")
             for sha in git(vault, "rev-list", f"{head}..HEAD").split()]
    assert "edit 1" in saved and "edit 3" not in saved  # nothing after the failed version
    assert json.loads((vault / f"snapshots/davinci/flows/{slug}/flow.json").read_text())["description"] == "edit 1"
    assert index(vault)["flows"][SIGN_ON]["stamp"]["currentVersion"] == held + 1
    assert "simple edit" in (vault / "snapshots/davinci/flows/simple/flow.json").read_text()

    monkeypatch.setattr(davinci.Source, "export", export)
    head = git(vault, "rev-parse", "HEAD").strip()
    result = run(vault, "backup", "--source", "davinci")
    assert result.exit_code == 0, result.output
    subjects = git(vault, "log", "--format=%s", f"{head}..HEAD")
    assert f"version {held + 2}" in subjects and f"version {held + 3}" in subjects
    assert json.loads((vault / f"snapshots/davinci/flows/{slug}/flow.json").read_text())["description"] == "edit 3"


def test_history_killed_half_way_continues_where_it_stopped(env, tmp_path, monkeypatch):
    sb, vault = env
    for i in (1, 2):
        edit(sb, SIGN_ON, f"edit {i}")
    assert run(vault, "backup", "--source", "davinci", "--history").exit_code == 0
    whole = files(vault)

    other = tmp_path / "other"
    assert run(vault, "init", str(other)).exit_code == 0
    (other / "flowvault.toml").write_text((vault / "flowvault.toml").read_text())
    from flowvault.sources import davinci
    from flowvault.vault import series

    monkeypatch.setattr(series, "CHECKPOINT_EVERY", 0.0)  # HEAD follows every version commit
    export, calls = davinci.Source.export, []

    def dies(self, item):
        calls.append(item.id)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return export(self, item)

    monkeypatch.setattr(davinci.Source, "export", dies)
    result = run(other, "backup", "--source", "davinci", "--history", "--jobs", "1")
    assert result.exit_code != 0
    partial = len(git(other, "rev-list", "HEAD").split())
    assert 0 < partial < len(git(vault, "rev-list", "HEAD").split())

    monkeypatch.setattr(davinci.Source, "export", export)
    result = run(other, "backup", "--source", "davinci", "--history")
    assert result.exit_code == 0, result.output
    assert files(other) == whole
    slug = index(vault)["flows"][SIGN_ON]["slug"]
    path = f"snapshots/davinci/flows/{slug}/flow.json"
    assert len(commits(other, path)) == len(commits(vault, path))


def test_aliases_name_the_version_commits_and_latest_only_keeps_one_commit(env, monkeypatch):
    sb, vault = env
    assert run(vault, "backup", "--source", "davinci").exit_code == 0
    from flowvault.sources import davinci

    versions = davinci.Source.versions

    def with_alias(self, item):
        return [{**v, "alias": "hotfix"} if v["version"] == item.extra["version"] else v
                for v in versions(self, item)]

    monkeypatch.setattr(davinci.Source, "versions", with_alias)
    edit(sb, SIGN_ON, "one")
    edit(sb, SIGN_ON, "two")
    assert run(vault, "backup", "--source", "davinci").exit_code == 0
    latest = index(vault)["flows"][SIGN_ON]["stamp"]["currentVersion"]
    assert f'version {latest} "hotfix" saved' in run(vault, "log", SIGN_ON).stdout

    head = git(vault, "rev-parse", "HEAD").strip()
    edit(sb, SIGN_ON, "three")
    edit(sb, SIGN_ON, "four")
    result = run(vault, "backup", "--source", "davinci", "--latest-only")
    assert result.exit_code == 0, result.output
    assert len(git(vault, "rev-list", f"{head}..HEAD").split()) == 1
    assert run(vault, "backup", "--history", "--latest-only").exit_code == 2


def test_status_after_a_deploy_without_a_new_save_says_the_deployed_version_changed(env):
    sb, vault = env
    edit(sb, SIMPLE, "saved, not deployed")
    assert run(vault, "backup").exit_code == 0
    live = {f["id"]: f for f in api(sb, "flows")["_embedded"]["flows"]}[SIMPLE]
    old_deployed = live.get("publishedVersion")
    assert old_deployed != live["currentVersion"]  # the sandbox's edit saves a version, it does not deploy it
    call(sb, "POST", f"/_sandbox/flows/{SIMPLE}/deploy", {})
    result = run(vault, "status", "--exit-code", "--format", "json")
    assert result.exit_code == 1, result.output  # the backup records the deploy (meta.json)
    row = {f["id"]: f for f in json.loads(result.stdout)["sources"]["davinci"]["flows"]}[SIMPLE]
    assert row["state"] == "behind"
    assert row["vault_version"] == row["latest_version"] == row["deployed_version"] == live["currentVersion"]
    assert row["vault_deployed_version"] == old_deployed
    assert "deployed_version" in row["differs"] and "version" not in row["differs"]
    text = run(vault, "status").stdout
    line = next(line for line in text.splitlines() if row["name"] in line)
    assert line == (f"davinci: {row['name']}: behind: deployed version changed: vault {old_deployed}, "
                    f"service {live['currentVersion']}"), line
    assert "vault has version" not in line
    assert run(vault, "backup").exit_code == 0
    assert run(vault, "status", "--exit-code").exit_code == 0


def test_log_shows_when_each_version_was_saved_not_when_it_was_committed(env, monkeypatch):
    sb, vault = env
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2031-05-05T12:00:00Z")  # the backups run long after the saves
    assert run(vault, "backup").exit_code == 0
    edit(sb, SIMPLE, "first save")
    edit(sb, SIMPLE, "second save")
    assert run(vault, "backup").exit_code == 0
    saved = {v["version"]: v["createdAt"] for v in api(sb, f"flows/{SIMPLE}/versions")["_embedded"]["versions"]}
    result = run(vault, "log", SIMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    for row in rows:
        assert row["author_date"] == git(vault, "log", "-1", "--format=%aI", row["commit"]).strip()
        assert row["date"] == git(vault, "log", "-1", "--format=%cI", row["commit"]).strip()
    versions = [row for row in rows if ": version " in row["message"]]
    assert len(versions) == 2
    for row in versions:
        number = int(row["message"].split(": version ", 1)[1].split()[0])
        assert row["author_date"][:10] == saved[number][:10] != row["date"][:10]  # saved on another day
    text = run(vault, "log", SIMPLE).stdout.splitlines()
    for row, line in zip(rows, text, strict=True):
        assert line.startswith(f"{row['commit'][:8]} {row['author_date'][:10]} "), line


def test_the_count_line_counts_flows_and_versions_apart(env):
    sb, vault = env
    assert run(vault, "backup", "--source", "davinci").exit_code == 0
    for i in (1, 2, 3):
        edit(sb, SIGN_ON, f"sign-on edit {i}")
    edit(sb, SIMPLE, "simple edit")
    result = run(vault, "backup", "--source", "davinci")
    assert result.exit_code == 0, result.output
    listed = len(index(vault)["flows"])
    # 2 flows moved (4 saved versions between them); the others unchanged: the numbers add up to what was listed
    assert f"davinci: {listed} listed, 2 exported (4 versions), {listed - 2} unchanged" in result.stdout.splitlines()
    assert "committed 4 flow version(s), one commit each" in result.stdout


def test_a_flow_whose_exports_all_fail_costs_one_export_not_one_per_version(env, monkeypatch):
    sb, vault = env
    assert run(vault, "backup", "--source", "davinci").exit_code == 0
    held = index(vault)["flows"][SIGN_ON]["stamp"]["currentVersion"]
    for i in (1, 2, 3):
        edit(sb, SIGN_ON, f"edit {i}")
    edit(sb, SIMPLE, "simple edit")
    import threading
    import time

    from flowvault.errors import RemoteError
    from flowvault.sources import davinci

    export = davinci.Source.export
    asked, lock = [], threading.Lock()

    def failing(self, item):
        with lock:
            asked.append((item.id, item.extra.get("version")))
        if item.id == SIGN_ON:
            time.sleep(0.2)  # what the retries of a failing export take
            raise RemoteError("davinci: export -> 500 (after 4 attempts)")
        return export(self, item)

    monkeypatch.setattr(davinci.Source, "export", failing)
    result = run(vault, "backup", "--source", "davinci")
    assert result.exit_code == 4, result.output
    # The chain ended at its first version: none of the later ones was asked for (nor retried)
    assert [v for i, v in asked if i == SIGN_ON] == [held + 1], asked
    assert f"version {held + 1}" in result.stderr
    assert "simple edit" in (vault / "snapshots/davinci/flows/simple/flow.json").read_text()
