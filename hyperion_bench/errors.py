"""Errors meant for people, not programmers.

A ``UserError`` is bad input or missing data: the CLI prints its message as one line and exits
with code 2, without a traceback. Broken invariants stay plain assertions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input (unknown suite/method, malformed file, impossible budget, missing data)."""

    exit_code = 2


def run_script(main: Callable[[], int]) -> None:
    """``if __name__ == "__main__"`` of a script (the benchmarks): exit with ``main()``'s code, or print a
    ``UserError`` as one line and exit with its code, as the CLI does."""
    try:
        code = main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    raise SystemExit(code)
