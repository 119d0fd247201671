"""What people see: progress per epoch, metric tables, confusion matrices and error messages (rich)."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column, Table

from nnlearn.errors import ConfigError, NnlearnError
from nnlearn.rundir import SPLITS


def format_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"
    return str(value)


def _pieces(text: str) -> list[str]:
    """text split at spaces into the pieces a line may break between; a command (from `nnlearn` to the
    end, to a `;` or to a `,`) and a `backticked` span stay one piece, so they can be copied whole."""
    pieces: list[str] = []
    closing = ""  # what ends the unbreakable piece being built ("" when none is)
    for word in text.split(" "):
        if closing:
            pieces[-1] += " " + word
            if (closing == "`" and "`" in word) or (closing == ";" and word.endswith((";", ","))):
                closing = ""
        elif word.startswith("`") and word.count("`") == 1:
            pieces.append(word)
            closing = "`"
        elif word == "nnlearn":
            pieces.append(word)
            closing = ";"
        else:
            pieces.append(word)
    return pieces


def print_wrapped(console: Console, head: str, text: str, indent: int = 0) -> None:
    """head (markup) then text (plain), wrapped to the console's width with later lines indented by
    indent spaces. Commands are never broken (see _pieces): one that does not fit starts a new line,
    and one longer than a line stays whole for the terminal to fold, as one line in a file."""
    from rich.text import Text

    lines, line, used = [], head, Text.from_markup(head).cell_len
    fresh = True  # no piece on this line yet
    for piece in _pieces(text):
        if not fresh and used + 1 + len(piece) > console.width:
            lines.append(line)
            line, used, fresh = " " * indent, indent, True
        line += ("" if fresh else " ") + escape(piece)
        used += len(piece) + (0 if fresh else 1)
        fresh = False
    lines.append(line)
    console.print("\n".join(lines), soft_wrap=True, highlight=False)


def print_problems(console: Console, problems, label: str = "", indent: str = "") -> None:
    """Each problem as `label path (line L, column C): message`, then its fix on the next line; wrapped
    lines keep the indent."""
    for problem in problems:
        where = problem.path or "(config)"
        if problem.line is not None:
            where += f" (line {problem.line}, column {problem.column})"
        print_wrapped(console, f"{indent}{label}[bold]{escape(where)}[/]: ", problem.message, len(indent) + 2)
        if problem.hint:
            print_wrapped(console, f"{indent}    [green]fix[/]: ", problem.hint, len(indent) + 6)


def print_warnings(console: Console, warnings) -> None:
    print_problems(console, warnings, label="[yellow]warning[/] ")


class EpochProgress:
    """A rich progress bar over epochs, showing the latest loss and metrics; with quiet=False it also
    prints the config's lint warnings and checks the loss before training."""

    def __init__(self, console: Console, quiet: bool = False):
        self.console = console
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task = None

    def before_training(self, warnings) -> None:
        """The config's warnings, before the first step (unless quiet)."""
        if not self.quiet:
            print_warnings(self.console, warnings)

    def initial_loss(self, measured: float, expected: float, reason: str) -> None:
        from nnlearn.baselines import initial_loss_gap

        if initial_loss_gap(measured, expected):
            print_wrapped(self.console, "[yellow]warning[/]: ",
                          f"the loss before training is {format_number(measured)}, far from the expected "
                          f"{reason}. This usually means a label or setup mistake (labels that do not match "
                          "the output, outputs squashed twice, unscaled targets).", 2)
        elif not self.quiet:
            print_wrapped(self.console, "", f"Loss before training: {format_number(measured)} (expected about "
                                            f"{reason}).", 2)

    def start(self, epochs: int, run_dir: Path, first_epoch: int = 0) -> None:
        resumed = f" (resuming after epoch {first_epoch})" if first_epoch else ""
        self.console.print(f"Training → [bold]{escape(str(run_dir))}[/]{resumed}")
        self.total, self.first_epoch, self.last_epoch = epochs, first_epoch, first_epoch
        # a pipe or a CI log gets plain lines (about 20 a run); a terminal gets a live bar
        self.every = max(1, math.ceil((epochs - first_epoch) / 20))
        if not self.console.is_terminal:
            return
        width = len(f"epoch {epochs}/{epochs}")
        bar = 10 if self.console.width < 100 else 20
        self.room = max(20, self.console.width - width - bar - 2)  # what the numbers get beside the bar
        self.progress = Progress(
            TextColumn("epoch {task.completed:>%d}/{task.total}" % len(str(epochs)),
                       table_column=Column(no_wrap=True, min_width=width)),
            BarColumn(bar_width=bar),
            TextColumn("{task.fields[logs]}", table_column=Column(no_wrap=True, ratio=1)),
            console=self.console, transient=False, expand=True)
        self.progress.start()
        self.task = self.progress.add_task("fit", total=epochs, completed=first_epoch, logs="")

    def epoch(self, number: int, logs: dict) -> None:
        self.last_epoch = number
        if self.progress is not None:
            self.progress.update(self.task, completed=number, logs=escape(epoch_logs(logs, self.room)))
        elif (number - self.first_epoch) % self.every == 0 or number in (self.first_epoch + 1, self.total):
            self.console.print(f"epoch {number:>{len(str(self.total))}}/{self.total}  {epoch_logs(logs)}",
                               soft_wrap=True, highlight=False)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    @property
    def trained(self) -> int:
        """Epochs trained in this session (a resumed run counts only its new epochs)."""
        return getattr(self, "last_epoch", 0) - getattr(self, "first_epoch", 0)


def epoch_logs(logs: dict, width: int | None = None) -> str:
    """An epoch's numbers, most telling first (loss, then the key metric, each beside its validation
    value), 4 significant digits; with width, on as many lines of at most width as they need, never
    splitting a name from its value."""
    def rank(name: str) -> tuple:
        base = name.removeprefix("val_")
        order = 0 if base == "loss" else 1 if base in ("accuracy", "r2") else 2
        return order, base, name.startswith("val_")

    items = [f"{name} {float(value):.4g}" for name, value in sorted(logs.items(), key=lambda item:
                                                                    rank(item[0]))]
    if width is None:
        return "  ".join(items)
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + 2 + len(item) > width:
            lines.append("")
        lines[-1] += ("  " if lines[-1] else "") + item
    return "\n".join(lines)


def metrics_table(metrics: dict, baseline: dict | None = None, title: str = "Metrics") -> Table:
    """Rows are loss and metrics; columns are the splits, then what no learning would score."""
    splits = [name for name in SPLITS if metrics.get(name)]
    names: list[str] = []
    for split in splits:
        for name in metrics[split]:
            if name not in names:
                names.append(name)
    table = Table(title=title)
    table.add_column("metric")
    for split in splits:
        table.add_column(split, justify="right")
    if baseline is not None:
        table.add_column("no learning (test)", justify="right", style="dim")
    for name in names:
        row = [name] + [format_number(metrics[split].get(name)) for split in splits]
        if baseline is not None:
            row.append(format_number(baseline.get(name)))
        table.add_row(*row)
    return table


def expectations_table(results) -> Table:
    """Each expectation against what was measured."""
    table = Table(title="Expectations")
    for column in ("expected", "measured", "result"):
        table.add_column(column, justify="right" if column == "measured" else "left")
    for result in results:
        verdict = "[green]met[/]" if result.passed else "[bold red]NOT MET[/]"
        table.add_row(escape(result.expectation.text), format_number(result.measured), verdict)
    return table


def confusion_table(labels: list[str], matrix: list[list[int]]) -> Table:
    table = Table(title="Confusion matrix (rows: true class, columns: predicted)")
    table.add_column("true \\ predicted")
    for label in labels:
        table.add_column(escape(label), justify="right")
    for label, row in zip(labels, matrix):
        cells = [f"[bold green]{count}[/]" if index == labels.index(label) else
                 (f"[red]{count}[/]" if count else "0") for index, count in enumerate(row)]
        table.add_row(escape(label), *cells)
    return table


def print_error(console: Console, error: NnlearnError) -> None:
    """The one way an error reaches a person: `error: where: what`, then `fix: how`; a config with
    several problems lists them all under one heading."""
    label = "failed" if error.exit_code == 1 else "error"
    if isinstance(error, ConfigError):
        head = f"{error.source}: " if error.source else ""
        count = len(error.problems)
        console.print(f"[bold red]{label}[/]: {escape(head)}{count} problem"
                      f"{'s' if count != 1 else ''} in the config")
        print_problems(console, error.problems, indent="  ")
        return
    for problem in error.problems:
        where = f"{problem.path}: " if problem.path else ""
        print_wrapped(console, f"[bold red]{label}[/]: {escape(where)}", problem.message, 2)
        if problem.hint:
            print_wrapped(console, "  [green]fix[/]: ", problem.hint, 4)


def error_json(error: NnlearnError) -> dict:
    """The one JSON form of an error: its kind, exit code and problems, and the run directory of an error
    that belongs to a run (a failed or interrupted run), so a script need not read it out of the message."""
    problems = [{**problem.as_dict(), "path": problem.path or None} for problem in error.problems]
    shape = {"kind": type(error).__name__, "exit_code": error.exit_code, "problems": problems}
    if error.run_dir is not None:
        shape["run_dir"] = str(error.run_dir)
    return {"error": shape}


def watch_table(retrained) -> Table:
    """Test metrics of the new run beside the previous run's, with the change."""
    now = retrained.run.metrics.get("test") or {}
    before = (retrained.previous.metrics.get("test") or {}) if retrained.previous else {}
    table = Table(title=f"Test metrics, {retrained.seconds:.1f} s after the save")
    table.add_column("metric")
    if before:
        table.add_column("previous run", justify="right", style="dim")
    table.add_column("this run", justify="right")
    if before:
        table.add_column("change", justify="right")
    for name, value in now.items():
        row = [name]
        if before:
            row.append(format_number(before.get(name)))
        row.append(format_number(value))
        if before:
            change = retrained.deltas().get(name)
            row.append("—" if change is None else f"{change:+.4f}")
        table.add_row(*row)
    return table


def print_diagnosis(console: Console, verdicts) -> None:
    """Each verdict: its title, the numbers behind it, and what to try next (with the command)."""
    colours = {"healthy": "green", "still_improving": "cyan"}
    for verdict in verdicts:
        colour = colours.get(verdict.kind, "yellow")
        print_wrapped(console, f"[bold {colour}]{escape(verdict.title)}[/]: ", verdict.evidence, 2)
        print_wrapped(console, "  [green]next[/]: ", verdict.next_step, 4)
        if verdict.command:  # one line, never wrapped, so it can be copied whole
            console.print(f"  [green]try[/]: {escape(verdict.command)}", soft_wrap=True)
