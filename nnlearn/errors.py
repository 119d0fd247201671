"""One family of errors. A user mistake exits 2; a run that failed exits 1."""

from __future__ import annotations


class Problem:
    """One problem: where it is (a config path such as model.layers[2].units, a file, an option; and the
    line and column when known), what is wrong, how to fix it."""

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 column: int | None = None, hint: str | None = None, id: str | None = None):
        self.id = id  # a warning's stable name (config.LintWarning), which `lint: {ignore: [...]}` takes
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
        shown = {"path": self.path, "line": self.line, "column": self.column,
                 "message": self.message + (f" Fix: {self.hint}" if self.hint else "")}
        return {"id": self.id, **shown} if self.id else shown


class NnlearnError(Exception):
    """A mistake the user can fix: printed without a traceback, exit code 2.

    Every error carries its problems (one, or all a config has): one shape, printed and turned into
    JSON in one place each (display.print_error, display.error_json).
    """

    exit_code = 2
    run_dir = None  # the run directory the error belongs to (a failed or interrupted run), if one was saved

    def __init__(self, message: str = "", *, path: str | None = None, line: int | None = None,
                 column: int | None = None, hint: str | None = None, problems: list[Problem] | None = None):
        self.problems = problems or [Problem(path or "", message, line=line, column=column, hint=hint)]
        first = self.problems[0]
        super().__init__(first.message)
        self.message, self.path, self.line, self.column, self.hint = (first.message, first.path or None,
                                                                      first.line, first.column, first.hint)

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

    def __init__(self, problems: list[Problem], source: str | None = None):
        super().__init__(problems=problems)
        self.source = source

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
    """Training ran but failed (a NaN loss, an expectation not met): exit code 1. run_dir: the failed run, if saved."""

    exit_code = 1


class Interrupted(NnlearnError):
    """Ctrl-C (or SIGTERM) stopped training after a batch; the last epoch's checkpoint is kept. Exit 130."""

    exit_code = 130


class WorkerLost(RunError):
    """Another worker stopped answering while training; the last checkpoint is kept."""

    exit_code = 1


class UnreadableFile(Exception):
    """Why a file cannot be read, in the user's terms; callers turn it into their own error."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint
