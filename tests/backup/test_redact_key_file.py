"""The fingerprints' key may come from a key file outside the repository (DESIGN.md "Secrets never land")."""


from backup_helpers import backup


def test_a_key_file_outside_the_repo_keys_the_fingerprints(env, tmp_path, monkeypatch):
    sb, vault = env
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY", raising=False)
    key = tmp_path / "keys" / "redact.key"
    key.parent.mkdir()
    key.write_text("a-random-key-kept-outside-the-repo\n")
    config = vault / "flowvault.toml"
    config.write_text(config.read_text().replace('[vault]\n', f'[vault]\nredact_key_file = "{key}"\n', 1))
    result = backup(vault)
    assert result.exit_code == 0, result.output
    assert "FLOWVAULT_REDACT_KEY is not set" not in result.output
    assert "hmac-sha256:" in (vault / "snapshots" / "davinci" / "variables.json").read_text()


def test_a_key_file_inside_the_vault_is_refused(env, monkeypatch):
    sb, vault = env
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY", raising=False)
    (vault / "redact.key").write_text("key-that-would-sit-next-to-its-fingerprints\n")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY_FILE", str(vault / "redact.key"))
    result = backup(vault)
    assert result.exit_code == 2
    assert "inside the vault repository" in result.output
    assert not (vault / "snapshots" / "davinci").exists()  # refused before anything was exported
