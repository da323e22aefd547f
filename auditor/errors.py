"""The errors a user can cause or meet, each with the exit code SPEC gives it.

The CLI prints ``str(error)`` as one line on stderr and exits with ``exit_code``: no traceback.
"""


class AuditorError(Exception):
    exit_code = 2


class BadInput(AuditorError):
    """Arguments, config, a rule pack or an IaC file that cannot be used (exit 2)."""

    exit_code = 2


class AuditIncomplete(AuditorError):
    """The audit could not be made: no credentials, endpoint unreachable (exit 3)."""

    exit_code = 3


class BadInputs(BadInput):
    """Several mistakes found in one pass (a pack with three broken rules): every one is reported, a line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Interrupted(BaseException):
    """SIGTERM during an audit: unwinds like Ctrl-C so the run is marked failed."""
