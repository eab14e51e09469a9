"""Run flowvault with what-if patches applied, for benchmarks/whatif.py: `python -m benchmarks.patched P,Q -- ARGS`.

Each patch stands in for a fix suggested to the module's owner, so its gain can be measured side by side with the
unpatched product in one run. Never used by the product or by run.py's table.
"""

from __future__ import annotations

import sys


def nofsync() -> None:
    """Upper bound of batching durability: vaultfiles.atomic_write without its two fsyncs per file."""
    import os

    os.fsync = lambda fd: None


# fastjson (orjson), redactcache, indexlabels and nonetrc landed in the product (Redactor.matches,
# backup_records.item_labels, http.Client._environment) and were dropped here.
PATCHES = {f.__name__: f for f in (nofsync,)}


def main() -> None:
    names, _, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name in filter(None, names.split(",")):
        PATCHES[name]()
    from flowvault.cli import cli

    cli.main(args=args, prog_name="flowvault")


if __name__ == "__main__":
    main()
