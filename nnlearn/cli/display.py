"""What people see: progress per epoch, metric tables, confusion matrices and error messages (rich)."""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nnlearn.errors import ConfigError, NnlearnError
from nnlearn.runs.rundir import SPLITS


class TrimmedLines:
    """A file that drops the spaces rich pads lines with (centred titles, panels, --help), which a log
    or a diff shows as noise. Spaces at the end of one write wait for the next: a newline drops them."""

    PADDING = re.compile(r" +(?=(?:\x1b\[[0-9;]*m)*\n)")  # spaces before a newline (or a style's end and one)

    def __init__(self, file):
        self.file = file
        self.held = ""

    def write(self, text: str) -> int:
        kept = self.PADDING.sub("", self.held + text)
        body = kept.rstrip(" ")
        self.held = kept[len(body):]
        self.file.write(body)
        return len(text)

    def __getattr__(self, name):  # flush, isatty, fileno, encoding: the file's own
        return getattr(self.file, name)


MIN_WIDTH = 20  # narrower than this (COLUMNS=0, COLUMNS=1) is no real terminal: lay out for DEFAULT_WIDTH
DEFAULT_WIDTH = 80


def trimmed(console: Console) -> Console:
    """console itself, writing through TrimmedLines unless it writes to a terminal (where the padding
    is invisible and a live display needs every cell), and never narrower than MIN_WIDTH: a width of 0
    would drop every message, errors included."""
    if console.width < MIN_WIDTH:
        console.width = DEFAULT_WIDTH
    if not console.is_terminal and not isinstance(console.file, TrimmedLines):
        console.file = TrimmedLines(console.file)
    return console


PIPE_WIDTH = 100  # the lines of a pipe or a log, unless COLUMNS says otherwise (CI systems set it)


def make_console(stderr: bool = False) -> Console:
    """The console every command prints through: stdout (or stderr), padding trimmed in files and pipes,
    whose lines are as wide as COLUMNS says, else PIPE_WIDTH."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not _columns_set():
        console.width = PIPE_WIDTH
    return trimmed(console)


def _columns_set() -> bool:
    value = os.environ.get("COLUMNS", "")
    return value.strip().isdigit() and int(value) > 0


class LoadingNote:
    """On a terminal, a live "loading TensorFlow…" note while TensorFlow is imported: without it, about 5 s
    of silence after a command's first line. Gone as soon as TensorFlow is in, or at stop(); a pipe or a
    log gets nothing (the first line already said what is happening)."""

    def __init__(self, console: Console):
        self.console, self.status, self.lock = console, None, threading.Lock()
        if console.is_terminal and "tensorflow" not in sys.modules:
            self.status = console.status("[dim]loading TensorFlow…[/]", spinner="dots")
            self.status.start()
            threading.Thread(target=self._until_loaded, name="loading note", daemon=True).start()

    def _until_loaded(self) -> None:
        while self.status is not None:
            module = sys.modules.get("nnlearn.tensorflow_import")
            if module is not None and hasattr(module, "keras"):  # its import is complete
                self.stop()
                return
            time.sleep(0.05)

    def stop(self) -> None:
        with self.lock:
            if self.status is not None:
                self.status.stop()
                self.status = None


@contextmanager
def first_line(console: Console, text: str):
    """A command that loads TensorFlow says what it is doing at once, then shows the loading note."""
    console.print(text, soft_wrap=True, highlight=False)
    note = LoadingNote(console)
    try:
        yield note
    finally:
        note.stop()


def print_table(console: Console, table: Table) -> None:
    """A table whose every cell is wanted whole (run names, values to copy or grep): fitted to a terminal's
    width, but in a file or a pipe as wide as it needs, one line per row, nothing cut or folded, as
    kubectl and docker print theirs, so that grep and awk see each row whole."""
    if console.is_terminal:
        console.print(table)
    else:
        from rich.segment import Segments

        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        lines = console.render_lines(table, console.options.update_width(max(console.width, natural)),
                                     pad=False, new_lines=True)
        console.print(Segments([segment for line in lines for segment in line]), crop=False)


def format_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"
    return str(value)


COMMANDS = ("nnlearn", "pip", "python")  # a word that starts a command to copy


def _pieces(text: str) -> list[str]:
    """text split at spaces into the pieces a line may break between; a command (from `nnlearn` to the
    end, to a `;` or to a `,`), a `backticked` span and an option with its value (`--set fit.epochs=3`,
    `--input FILE`) stay one piece, so they can be copied whole."""
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
        elif word in COMMANDS:
            pieces.append(word)
            closing = ";"
        elif pieces and _is_value_of(pieces[-1], word):
            pieces[-1] += " " + word
        else:
            pieces.append(word)
    return pieces


def _is_value_of(option: str, word: str) -> bool:
    """Whether word is the value of option (`--set` `fit.epochs=3`, `--workers` `N`), not the prose after
    it (`--set` `or`)."""
    return (option.startswith("--") and " " not in option and option[-1].isalnum() and word != ""
            and not word.startswith("-") and not (word.isalpha() and word.islower()))


def print_wrapped(console: Console, head: str, text: str, indent: int = 0) -> None:
    """head (markup) then text (plain), wrapped to the console's width with later lines indented by
    indent spaces. Commands are never broken (see _pieces): one that does not fit starts a new line,
    and one longer than a line stays whole for the terminal to fold, as one line in a file."""
    from rich.text import Text

    lines, line, used = [], "", Text.from_markup(head).cell_len
    fresh = True  # no piece on this line yet
    for piece in _pieces(text):
        if not fresh and used + 1 + len(piece) > console.width:
            lines.append(line)
            line, used, fresh = " " * indent, indent, True
        line += ("" if fresh else " ") + piece
        used += len(piece) + (0 if fresh else 1)
        fresh = False
    lines.append(line)
    # escaped whole: "[mae," and "r2]" are harmless alone, but joined they read as markup and vanish
    console.print(head + escape("\n".join(lines)), soft_wrap=True, highlight=False)


def print_problems(console: Console, problems, label: str = "", indent: str = "") -> None:
    """Each problem as `label path (line L, column C): message`, then its fix on the next line; wrapped
    lines keep the indent."""
    for problem in problems:
        where = problem.path or "(config)"
        if problem.line is not None:
            where += f" (line {problem.line}, column {problem.column})"
        print_wrapped(console, f"{indent}{label}[bold]{escape(where)}[/]: ", problem.message, len(indent) + 2)
        if problem.hint and problem.hint.strip():  # a fix line is never empty
            print_wrapped(console, f"{indent}    [green]fix[/]: ", problem.hint, len(indent) + 6)


def print_warnings(console: Console, warnings) -> None:
    print_problems(console, warnings, label="[yellow]warning[/] ")


class EpochProgress:
    """A rich progress bar over epochs, showing the latest loss and metrics; with quiet=False it also
    prints the config's lint warnings and checks the loss before training."""

    def __init__(self, console: Console, quiet: bool = False):
        self.console = console
        self.quiet = quiet
        self.loading = None  # the loading note, from the run's first line until TensorFlow is in
        self.progress = None  # a rich Live display on a terminal
        self.unprinted = None  # (number, logs) of the latest epoch a pipe has not been shown yet
        self.said_why = False  # watch trains again and again: the expected loss is explained once

    def before_training(self, prepared) -> None:
        """The config's warnings (lint), before the first step (unless quiet)."""
        if not self.quiet:
            from nnlearn.teaching.lint import lint

            print_warnings(self.console, lint(prepared))

    def run_started(self, run_dir: Path, name: str, first_epoch: int = 0) -> None:
        """The first line of a run, before TensorFlow is imported: what trains, and where it is saved."""
        resumed = f" (resuming after epoch {first_epoch})" if first_epoch else ""
        self.console.print(f"Training {escape(name)} → [bold]{escape(str(run_dir))}[/]{resumed}", soft_wrap=True)
        self.loading = LoadingNote(self.console)

    def _loaded(self) -> None:
        if self.loading is not None:
            self.loading.stop()
            self.loading = None

    def initial_loss(self, measured: float, expected: float, reason: str) -> None:
        from nnlearn.model.baselines import initial_loss_gap

        self._loaded()
        if initial_loss_gap(measured, expected):
            print_wrapped(self.console, "[yellow]warning[/]: ",
                          f"the loss before training is {format_number(measured)}, far from the expected "
                          f"{reason}. This usually means a label or setup mistake (labels that do not match "
                          "the output, outputs read as probabilities that are not, unscaled targets).", 2)
        elif not self.quiet:
            print_wrapped(self.console, "", f"Loss before training: {format_number(measured)} (expected about "
                                            f"{format_number(expected) if self.said_why else reason}).", 2)
            self.said_why = True

    def start(self, epochs: int, run_dir: Path, first_epoch: int = 0) -> None:
        from rich.live import Live

        self._loaded()
        self.total, self.first_epoch, self.last_epoch = epochs, first_epoch, first_epoch
        self.unprinted = None
        # a pipe or a CI log gets plain lines (about 20 a run); a terminal gets a live bar
        self.every = max(1, math.ceil((epochs - first_epoch) / 20))
        if not self.console.is_terminal:
            return
        self.bar = EpochBar(epochs, first_epoch)
        self.progress = Live(self.bar, console=self.console, refresh_per_second=10, transient=False)
        self.progress.start()

    def epoch(self, number: int, logs: dict) -> None:
        self.last_epoch = number
        if self.progress is not None:
            self.bar.epoch, self.bar.logs = number, logs
        elif (number - self.first_epoch) % self.every == 0 or number in (self.first_epoch + 1, self.total):
            self._print_epoch(number, logs)
        else:
            self.unprinted = (number, logs)

    def weights_after(self, epochs: int, model, prepared) -> None:
        """Nothing to draw in a terminal (the model after each call into TensorFlow: see nnlearn.workflows.live)."""

    def _print_epoch(self, number: int, logs: dict) -> None:
        """One epoch's line in a pipe or a log: as wide as the console, a long list of numbers going on, indented,
        on the next line."""
        self.unprinted = None
        counter = f"epoch {number:>{len(str(self.total))}}/{self.total}  "
        numbers = epoch_logs(logs, width=max(20, self.console.width - len(counter))).splitlines()
        lines = [counter + numbers[0]] + [" " * len(counter) + line for line in numbers[1:]]
        self.console.print("\n".join(lines), soft_wrap=True, highlight=False)

    def finish(self) -> None:
        """Training ended (or stopped): the live displays end, the last epoch is shown. Safe to call twice."""
        self._loaded()
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        elif self.unprinted:  # stopped early, or cut short: the last epoch is shown too
            self._print_epoch(*self.unprinted)

    @property
    def trained(self) -> int:
        """Epochs trained in this session (a resumed run counts only its new epochs)."""
        return getattr(self, "last_epoch", 0) - getattr(self, "first_epoch", 0)


class EpochBar:
    """The live display of training: `epoch N/T`, a bar and the epoch's numbers folded beside it, laid
    out again for the terminal's width at every refresh (a resized window too). It never reaches the last
    column, where some terminals wrap early and leave stale lines; when narrow the bar goes first, then
    the numbers move below the counter."""

    def __init__(self, total: int, epoch: int = 0):
        self.total, self.epoch, self.logs = total, epoch, {}

    def __rich_console__(self, console: Console, options):
        from rich.console import Group
        from rich.constrain import Constrain
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        width = options.max_width - 1
        counter = f"epoch {self.epoch:>{len(str(self.total))}}/{self.total}"
        bar = 20 if width >= 100 else 10 if width >= 60 else 0
        room = width - len(counter) - 1 - (bar + 1 if bar else 0)  # what the numbers get beside the bar
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        if bar:
            grid.add_column(width=bar)
        beside = room >= 30
        if beside:
            grid.add_column(no_wrap=True)
        numbers = epoch_logs(self.logs, room if beside else width)
        cells = [Text(counter)] + ([ProgressBar(self.total, self.epoch, width=bar)] if bar else [])
        grid.add_row(*cells, *([Text(numbers, no_wrap=True, overflow="ellipsis")] if beside else []))
        below = [Text(numbers, no_wrap=True, overflow="ellipsis")] if numbers and not beside else []
        yield Constrain(Group(grid, *below), width)


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


def early_stopping_line(early_stopping: dict) -> str:
    """What early stopping did, in one sentence (run.json's `early_stopping`)."""
    monitor, kept, last = early_stopping["monitor"], early_stopping["kept_epoch"], early_stopping["stopped_after"]
    value = early_stopping.get("kept_value")
    measured = f" ({monitor} {format_number(value)})" if isinstance(value, float) else ""
    weights = (f"kept the weights of epoch {kept}{measured}" if early_stopping.get("restored_best_weights") else
               f"kept the last epoch's weights{measured} (fit.early_stopping.restore_best_weights is false)")
    patience = early_stopping["patience"]
    epochs = f"{patience} epoch{'s' if patience != 1 else ''}"
    if not early_stopping.get("stopped", True):  # ran to the end, but the best epoch's weights came back
        return (f"Early stopping did not stop the run ({monitor} improved within every {epochs}), but it "
                f"{weights}, its best, not the last epoch's ({last}).")
    return f"Early stopping: {monitor} had not improved for {epochs}; stopped after epoch {last} and {weights}."


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
        row = [escape(name)] + [format_number(metrics[split].get(name)) for split in splits]
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
        if problem.hint and problem.hint.strip():
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
    since = "the save" if retrained.after_save else "watching started"
    title = f"Test metrics, {retrained.seconds:.1f} s after {since}"
    table = Table(title=title, min_width=len(title))  # the title on one line above the table
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


def print_report(console: Console, report) -> None:
    """validate's verdict on one file, then its errors and warnings."""
    mark = "[bold green]valid[/]" if report.valid else "[bold red]invalid[/]"
    console.print(f"{escape(str(report.path))}: {mark}")
    print_problems(console, report.errors, label="[red]error[/] ", indent="  ")
    print_problems(console, report.warnings, label="[yellow]warning[/] ", indent="  ")


def sparkline(values: list[float]) -> str:
    """A one-line chart of values: ▁ lowest, █ highest."""
    bars = "▁▂▃▄▅▆▇█"
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(bars[int((v - low) / span * (len(bars) - 1))] if math.isfinite(v) else "?" for v in values)


def loss_line(console: Console, history: list[dict]) -> str:
    """`loss per epoch ▇▅▃▂▁ first → last`, on one line of the console at any width."""
    losses = [row["loss"] for row in history]
    ends = f" {format_number(losses[0])} → {format_number(losses[-1])}"
    room = max(10, min(60, console.width - 1 - len("loss per epoch ") - len(ends)))  # short of the last column
    shown = losses if len(losses) <= room else [losses[i * len(losses) // room] for i in range(room)]
    return f"loss per epoch {sparkline(shown)}{ends}"
