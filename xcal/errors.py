"""The error family every user-facing failure belongs to.

Each error names the thing, the place and the fix, and carries the process exit code the CLI uses:
2 for bad input or configuration, 3 for an instrument or a run that could not go on. Anything else raised is
a fault in xcal itself (InternalFault, exit 70), never mistaken for a verdict.
"""

from __future__ import annotations


class XcalError(Exception):
    """Base of every error xcal shows to a person."""

    exit_code = 3

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(XcalError):
    """A file or an option is wrong: a procedure, limit set, site file or command line value."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.file, self.line, self.column = file, line, column
        where = ""
        if file:
            where = file
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        super().__init__(where + message, fix=fix)


class CalibrationExpiredError(XcalError):
    """An instrument is past its calibration due date and no override reason was given."""

    exit_code = 2


class InstrumentError(XcalError):
    """An instrument could not be reached or answered something the driver cannot use."""

    exit_code = 3

    def __init__(self, message: str, *, instrument: str | None = None,
                 resource: str | None = None, fix: str | None = None) -> None:
        self.instrument, self.resource = instrument, resource
        super().__init__(message, fix=fix)


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer within the transport's timeout."""


class ConnectionLost(InstrumentError):
    """The link to the instrument closed or failed while in use."""


class MeterChanged(InstrumentError):
    """After a lost link was reopened, another meter answers than the one identified before."""


class ProtocolError(InstrumentError):
    """The instrument answered bytes that do not fit its protocol (garbled, partial, unexpected)."""


class InstrumentReportedError(InstrumentError):
    """The instrument answered with its own error code; `code` is the instrument's code, `meaning` what it means."""

    def __init__(self, message: str, *, code: str, meaning: str, command: str,
                 instrument: str | None = None, resource: str | None = None,
                 fix: str | None = None) -> None:
        self.code, self.meaning, self.command = code, meaning, command
        super().__init__(message, instrument=instrument, resource=resource, fix=fix)


class RunAborted(XcalError):
    """A run stopped before it finished; the readings taken so far are kept and the run is incomplete."""

    exit_code = 3

    def __init__(self, message: str, *, run_id: str | None = None, cause: XcalError | None = None,
                 fix: str | None = None) -> None:
        self.run_id, self.cause = run_id, cause
        super().__init__(message, fix=fix)


class RecordError(XcalError):
    """The record store cannot be opened or does not hold what was asked for."""

    exit_code = 2


class AuthError(XcalError):
    """A sign-in or a signature was refused: wrong username or password, a locked or disabled account, or a role
    that may not do what was asked. Never says which of username or password was wrong."""

    exit_code = 2


FAULT_EXIT_CODE = 70
"""The exit code of a fault in xcal itself: EX_SOFTWARE of BSD's sysexits.h, "internal software error"; apart
from 0-3 so that no script takes a bug for a verdict (1) or for bad input (2)."""


class InternalFault(Exception):
    """An exception xcal did not foresee stopped a run: `cause` is that exception, `run_id` the run, now marked
    incomplete so that `xcal run --resume` continues it, and `readings` how many it keeps (None if unknown).

    Not an XcalError, so no handler of ordinary errors takes it for one."""

    exit_code = FAULT_EXIT_CODE

    def __init__(self, cause: BaseException, *, run_id: str, readings: int | None) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause, self.run_id, self.readings = cause, run_id, readings
