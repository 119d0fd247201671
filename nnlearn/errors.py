"""One family of errors. A user mistake exits 2; a run that failed exits 1."""

from __future__ import annotations

import shlex


class Problem:
    """One problem, as a value: where it is (a config path such as model.layers[2].units, a file, an option;
    and the line and column when known), what is wrong, what was received and what was expected (when they
    are known), and how to fix it.

    A fix that suggests a value for the problem's own key says so with `setting`, (name, {placeholder:
    value}), and writes each placeholder in the hint ("write a whole number, e.g. {setting}."): it reads
    `units: 8` in the config's words, or `--set 'model.layers[0].units=8'` when the value came from --set
    (as_option). `{set}` reads `set units: 8` in the config's words.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None, column: int | None = None,
                 hint: str | None = None, id: str | None = None, received=None, expected: str | None = None,
                 setting: tuple[str, dict[str, str]] | None = None):
        self.id = id  # a warning's stable name (config.LintWarning), which `lint: {ignore: [...]}` takes
        self.path = path
        self.origin = None  # where the value came from, when not from the file: "--set", "--grid KEY=VALUE"
        self.message = message
        self.line = line
        self.column = column
        self.received = received
        self.expected = expected
        self.setting = setting
        self.option_path = None  # the key's path when its value came from --set: the fix is written as one
        self.hint = hint

    @property
    def message(self) -> str:
        """What is wrong; said to come from --set (or --grid) when the value did not come from the file."""
        if self.origin is None:
            return self._message
        text = self._message.rstrip()
        return text[:-1] + f" (from {self.origin})." if text.endswith(".") else text + f" (from {self.origin})"

    @message.setter
    def message(self, text: str) -> None:
        self._message = text

    @property
    def hint(self) -> str | None:
        if self._hint is None or self.setting is None:
            return self._hint
        name, values = self.setting
        hint = self._hint
        for placeholder, value in values.items():
            if self.option_path is not None:
                option = "--set " + shlex.quote(f"{self.option_path}={value}")
                # a full stop glued to the command would be copied with it
                hint = hint.replace("{" + placeholder + "}.", option).replace("{" + placeholder + "}", option)
            else:
                written = f"set {name}: {value}" if placeholder == "set" else f"{name}: {value}"
                hint = hint.replace("{" + placeholder + "}", written)
        return hint

    @hint.setter
    def hint(self, text: str | None) -> None:
        self._hint = text

    def as_option(self, path: str, origin: str = "--set") -> None:
        """The value came from --set KEY=VALUE (or --grid): say so, and write the fix's setting as a --set."""
        self.option_path = path
        self.origin = origin

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
                 "message": self.message + (f" Fix: {self.hint}" if self.hint else ""), "fix": self.hint}
        if self.received is not None:
            shown["received"] = self.received
        if self.expected is not None:
            shown["expected"] = self.expected
        return {"id": self.id, **shown} if self.id else shown


def one_setting(name: str, value, placeholder: str = "setting") -> tuple[str, dict[str, str]]:
    """Problem.setting for a fix that suggests one value for the key."""
    return name, {placeholder: str(value)}


class NnlearnError(Exception):
    """A mistake the user can fix: printed without a traceback, exit code 2.

    Every error carries its problems (one, or all a config has): one shape, printed and turned into
    JSON in one place each (display.print_error, display.error_json).
    """

    exit_code = 2
    run_dir = None  # the run directory the error belongs to (a failed or interrupted run), if one was saved

    def __init__(self, message: str = "", *, path: str | None = None, line: int | None = None,
                 column: int | None = None, hint: str | None = None, problems: list[Problem] | None = None,
                 run_dir=None, exit_code: int | None = None):
        self.problems = problems or [Problem(path or "", message, line=line, column=column, hint=hint)]
        if run_dir is not None:
            self.run_dir = run_dir
        if exit_code is not None:
            self.exit_code = exit_code
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
