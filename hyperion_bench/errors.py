"""Errors meant for people, not programmers.

A ``UserError`` is bad input or missing data: the CLI prints its message as one line and exits
with code 2, without a traceback. Broken invariants stay plain assertions.
"""


class UserError(Exception):
    """Bad input (unknown suite/method, malformed file, impossible budget, missing data)."""

    exit_code = 2
