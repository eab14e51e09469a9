"""The git repository that holds the snapshots: its files, snapshot sets and slugs. The only package that imports
git (in repo.py and the modules its Vault is built from: gitrepo.py, commits.py, history.py)."""
