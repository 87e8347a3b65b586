"""Errors the `a2d` command reports as one line (exit status 1) instead of a traceback."""


class KnownError(Exception):
    """A problem the user can fix: bad config, missing file, unreachable service."""
