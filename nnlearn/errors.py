"""One family of errors. A user mistake exits 2; a run that failed exits 1."""

from __future__ import annotations


class NnlearnError(Exception):
    """A mistake the user can fix: printed without a traceback, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}"
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})" if where else f"line {self.line}"
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class ConfigError(NnlearnError):
    """The YAML config (or a --set override) is wrong.

    Carries every problem found, so a learner sees them all at once.
    """

    def __init__(self, problems: list["Problem"], source: str | None = None):
        self.problems = problems
        self.source = source
        first = problems[0]
        super().__init__(first.message, path=first.path, line=first.line, column=first.column,
                         hint=first.hint)

    def __str__(self) -> str:
        head = f"{self.source}: " if self.source else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the config:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class DataError(NnlearnError):
    """The data named by the config cannot be used (missing file, bad column, NaN...)."""


class RunError(NnlearnError):
    """A run directory is missing, incomplete or unsafe to load."""


class RunFailed(NnlearnError):
    """Training ran but failed (a NaN loss, a metric gate): exit code 1. run_dir: the failed run, if saved."""

    exit_code = 1
    run_dir = None


class Problem:
    """One problem found in a config: where it is, what is wrong, how to fix it."""

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 column: int | None = None, hint: str | None = None):
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = self.path or "(config)"
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" Fix: {self.hint}"
        return text

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column,
                "message": self.message + (f" Fix: {self.hint}" if self.hint else "")}
