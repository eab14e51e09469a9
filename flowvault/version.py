"""flowvault's version: read by packaging (pyproject.toml), `flowvault --version` and the HTTP User-Agent.

Its own module, so that a low layer (http) can name it without importing the package's public API."""

__version__ = "0.1.0"
