"""PingOne: regions, the worker-app token, and the one Platform API client (environment paths, `_embedded` pages)."""
