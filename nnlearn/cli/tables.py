"""Rich tables for what the commands measured: smoke, predict, runs, compare, explain, gradcheck,
lessons. Each takes a result object and returns a table; the CLI prints it."""

from __future__ import annotations

import math
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from nnlearn.cli.display import format_number
from nnlearn.config.loading import parse_path
from nnlearn.runs.sweep_folder import Sweep

STATUS_COLOURS = {"finished": "green", "passed": "green", "failed": "red", "invalid": "red",
                  "interrupted": "yellow", "running": "cyan"}


def smoke_table(results, steps: int) -> Table:
    """One row per config; the config's file name is never cut, the numbers fold instead."""
    table = Table(title="nnlearn smoke", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("config", no_wrap=True, min_width=max((len(r.config.name) for r in results), default=6))
    table.add_column("status", overflow="fold")
    table.add_column("loss: first → last", overflow="fold")
    table.add_column(f"test ({steps} steps)", overflow="fold")
    table.add_column("s", justify="right", overflow="fold")
    for result in results:
        loss = (f"{format_number(result.initial_loss)} → {format_number(result.final_loss)}"
                if result.initial_loss is not None else "—")
        key = "accuracy" if "accuracy" in result.test else "r2"
        test = f"{SHORT_METRIC.get(key, key)} {result.test[key]:.3f}" if key in result.test else "—"
        table.add_row(escape(result.config.name), result.status, loss, test, f"{result.seconds:.1f}")
    return table


def predictions_table(run_dir: Path, predictions, shown: int = 20, top: int | None = 3) -> Table:
    """The predictions, one row each. Classifiers with more than top classes show the top classes with
    their probabilities (top=None: every probability)."""
    more = f"first {shown} of {len(predictions.rows)} rows" if len(predictions.rows) > shown else None
    table = Table(title=more)  # the run's name goes above the table (predictions_heading): never cut
    table.add_column("row", justify="right")
    probabilities = [column for column in predictions.columns if column.startswith("p_")]
    ranked = top is not None and "class" in predictions.columns and len(probabilities) > top
    columns = [column for column in predictions.columns
               if not (ranked and (column.startswith("p_") or column == "class"))]  # "most likely" says it
    for column in columns:
        table.add_column(escape(column), justify="left" if column in ("class", "labels", "file") else "right")
    if ranked:
        for rank in range(1, top + 1):
            table.add_column(("most likely" if rank == 1 else f"#{rank}") + " (p)", no_wrap=True)
    for index, row in enumerate(predictions.rows[:shown], start=1):
        cells = [escape(format_number(row[column])) for column in columns]
        if ranked:
            best = sorted(probabilities, key=lambda column: -row[column])[:top]
            cells += [f"{escape(column[2:])} ({row[column]:.2f})" for column in best]
        table.add_row(str(index), *cells)
    return table


def predictions_heading(run_dir: Path) -> str:
    return f"Predictions of [bold]{escape(str(run_dir))}[/]"


def runs_table(folder: Path, summaries) -> RunsTable:
    """One row per run, fitted to the width it is printed at (see RunsTable)."""
    return RunsTable(folder, summaries)


class RunsTable:
    """The runs as a table: run, started, epochs, key test metric, status. The run's name is never cut
    (it is what you copy), every cell is kept on one line, and the start is always shown, so the usual
    runs/<name>-<time> names fit 80 columns one row each. Where the table is wider than the terminal,
    its columns move closer (one space apart); still too wide, each run takes two lines: its whole name,
    then the rest below it. A file or a pipe gets the whole table (print_table)."""

    def __init__(self, folder: Path, summaries):
        self.folder, self.summaries = folder, list(summaries)
        self.title = f"Runs in {escape(str(folder))}"

    def table(self, gap: int = 2) -> Table:
        table = Table(title=self.title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      padding=(0, gap - 1, 0, 0))  # gap spaces between columns (one of them the divider)
        names = [run.run_dir.name for run in self.summaries]
        table.add_column("run", no_wrap=True, min_width=max(map(len, names), default=3))
        for column in ("started UTC", "epochs", "test", "status"):
            table.add_column(column, justify="right" if column == "epochs" else "left", no_wrap=True)
        for run in self.summaries:
            table.add_row(escape(run.run_dir.name), *self.cells(run))
        return table

    @staticmethod
    def cells(run) -> list[str]:
        """(started, epochs, test metric, status) of one run, each short: `12-01 10:30`, `67/1500`,
        `acc 0.967`, `stopped early` (a finished run that early stopping ended)."""
        epochs = f"{run.epochs}/{run.configured_epochs}" if run.configured_epochs else str(run.epochs)
        metric = f"{SHORT_METRIC.get(run.metric, run.metric)} {run.value:.3f}" if run.metric and isinstance(
            run.value, float) else "—"
        stopped = run.early_stopping and run.early_stopping.get("stopped", True)
        status = "stopped early" if run.status == "finished" and stopped else run.status
        colour = STATUS_COLOURS.get(run.status, "white")
        started = run.started[5:16].replace("T", " ")  # month-day hour:minute
        return [started, epochs, metric, f"[{colour}]{escape(status)}[/]"]

    def __rich_measure__(self, console, options):
        return Measurement.get(console, options, self.table())

    def __rich_console__(self, console, options):
        for table in (self.table(gap=2), self.table(gap=1)):
            if Measurement.get(console, options.update_width(10_000), table).maximum < options.max_width:
                yield table  # short of the last column, where some terminals wrap early
                return
        yield Text.from_markup(self.title, justify="center")
        for run in self.summaries:  # narrow: the whole name on its line, the rest indented below it
            started, epochs, metric, status = self.cells(run)
            yield Text(run.run_dir.name, overflow="fold")
            lines = [""]  # the rest below, indented, a line breaking only between items
            for item in (status, f"{epochs} epochs", metric, f"started {started}"):
                if lines[-1] and 2 + Text.from_markup(f"{lines[-1]}  {item}").cell_len >= options.max_width:
                    lines.append("")
                lines[-1] += ("  " if lines[-1] else "") + item
            yield Text.from_markup("\n".join(f"  {line}" for line in lines))


SHORT_METRIC = {"accuracy": "acc"}


def comparison_legend(run_dirs: list[Path]) -> list[str]:
    """One line per run, `run N: RUN_DIR`: the tables' columns are headed run 1, run 2, ..., so that run
    names (which often differ only in their last digits) are never cut to fit."""
    return [f"[bold]run {number}[/]: {escape(str(run_dir))}" for number, run_dir in enumerate(run_dirs, 1)]


def comparison_tables(run_dirs: list[Path], comparison) -> tuple[Table, Table]:
    """(how the configs differ, the metrics side by side), one column per run: run 1, run 2, ... (see
    comparison_legend)."""
    differences = Table(title="Config differences")
    differences.add_column("key", no_wrap=True)  # whole: it is what a learner types after --set
    for number, _ in enumerate(run_dirs, 1):
        differences.add_column(f"run {number}", overflow="fold")
    for key, values in comparison.differences.items():
        differences.add_row(key, *[escape(as_yaml(value)) for value in values])
    if not comparison.differences:
        differences.add_row("(the configs are identical)", *[""] * len(run_dirs))
    metrics = Table(title="Metrics")
    metrics.add_column("split")
    metrics.add_column("metric")
    for number, _ in enumerate(run_dirs, 1):
        metrics.add_column(f"run {number}", justify="right")
    for split, names in comparison.metrics.items():
        for name, values in names.items():
            metrics.add_row(split, name, *[format_number(value) for value in values])
    return differences, metrics


def as_yaml(value) -> str:
    """A config value as the YAML file spells it: null, true, [3, 3], not Python's None, True, (3, 3)."""
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def explanation_table(config_path: Path, explanation) -> Table:
    table = Table(title=f"{escape(str(config_path))}: input shape {explanation.input_shape}")
    for column in ("layer", "output shape", "parameters", "activation", "what it does"):
        table.add_column(column, no_wrap=column == "parameters")  # a formula is read whole
    for row in explanation.layers:
        factors, equals, _ = row.formula.rpartition(" = ")
        formula = f"{factors} = {row.params:,}" if equals else row.formula  # 65,600 as in the total
        table.add_row(f"{row.index}: {row.type}", str(row.output_shape), formula, row.activation or "",
                      escape(row.meaning))
    table.add_row("total", "", f"{explanation.total_params:,}", "", "")
    return table


def gradcheck_table(result, tolerance: float) -> Table:
    table = Table(title="Backpropagation against finite differences (float64, ε = 1e-3)")
    for column in ("layer", "tensor", "parameters", "checked", "kinks skipped", "relative error", ""):
        table.add_column(column, justify="left" if column in ("layer", "tensor") else "right")
    for check in result.tensors:
        table.add_row(check.layer, check.tensor, str(check.params), str(check.checked),
                      str(check.kinks_skipped), f"{check.relative_error:.2e}",
                      "[green]ok[/]" if check.passed else f"[bold red]> {tolerance:g}[/]")
    return table


def lesson_table(result):
    """What a lesson measured, for a learner, each number labelled as the course says it (the lesson's
    labels): single numbers in one table (4 significant digits, a dict's entries each on its own row),
    then each set of equally long lists as one table with a row per position, labelled by the set's first
    list (or by epoch); long lists show about 10 rows. The lesson's note (what "—" means) goes last."""
    from rich.console import Group

    labels = result.labels
    single = Table(title=f"Measured just now ({result.seconds:.1f} s)")
    single.add_column("quantity")
    single.add_column("value", justify="right")
    series: dict[int, dict[str, list]] = {}  # length -> the lists of that length, in the lesson's order
    for key, value in result.numbers.items():
        if isinstance(value, dict):
            for name, item in value.items():
                single.add_row(escape(labels.get(f"{key}.{name}", f"{_label(key)}: {_label(name)}")), _shown(item))
        elif isinstance(value, list) and len(value) > 1 and not any(isinstance(item, (list, dict)) for item in value):
            series.setdefault(len(value), {})[key] = value
        else:
            single.add_row(escape(labels.get(key, _label(key))), escape(_shown(value)))
    tables = [single] if single.row_count else [Text(single.title, justify="center")]
    for lists in series.values():
        tables += _series_tables(lists, labels)
    return Group(*tables, *([Text(result.note)] if result.note else []))


def _series_tables(lists: dict[str, list], labels: dict[str, str], columns: int = 4) -> list[Table]:
    """One table per up to columns lists, split evenly (so that 80 columns hold each), each led by the
    labelling column."""
    lists = dict(lists)
    length = len(next(iter(lists.values())))
    if all(key.endswith("_by_epoch") for key in lists):  # no list of their own to label the rows
        label, positions = "epoch", list(range(1, length + 1))
    elif len(lists) == 1:
        label, positions = "#", list(range(1, length + 1))
    else:
        first = next(iter(lists))
        label, positions = labels.get(first, _label(first)), lists.pop(first)
    step = math.ceil(length / 10) if length > 12 else 1  # about 10 rows, always the first and the last
    shown = sorted(set(range(0, length, step)) | {length - 1})
    every = f"1 row in {step} of {length}; --json has them all" if step > 1 else None
    keys, tables = list(lists), []
    per_table = math.ceil(len(keys) / math.ceil(len(keys) / columns))
    for first in range(0, len(keys), per_table):
        table = Table(caption=every)
        words = [position for position in positions if isinstance(position, str)]  # cases named in words
        table.add_column(escape(label), justify="left" if words else "right", no_wrap=bool(words))
        for key in keys[first:first + per_table]:
            table.add_column(escape(labels.get(key, _label(key.removesuffix("_by_epoch")))), justify="right")
        for index in shown:  # a number is never folded; a long header or a case in words is
            table.add_row(*[Text(_shown(value), no_wrap=not isinstance(value, str)) for value in
                            [positions[index]] + [lists[key][index] for key in keys[first:first + per_table]]])
        tables.append(table)
    return tables


LABELS = {"epochs_measured": "epoch", "lambdas": "λ", "lambda_in_course_terms": "λ (course)",
          "best_lambda": "best λ"}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _shown(value) -> str:
    """A measured number as a learner reads it: 4 significant digits, whole numbers with commas; a list
    (of lists) as its numbers in a row, a list of one as that one."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        flat = [item for part in value for item in (part if isinstance(part, list) else [part])]
        return ", ".join(_shown(item) for item in flat)
    return str(value)


def mistakes_table(mistakes, feature_names: list[str], regression: bool, asked: int | None = None) -> Table | Text:
    """The test examples the model gets wrong, worst first: an image's file, or tabular data's row and
    first features."""
    from nnlearn.insight.inside import mistakes_title

    title = escape(mistakes_title(mistakes, asked or len(mistakes), regression))
    if not mistakes:
        return Text.from_markup(title + ".")
    table = Table(title=title)
    files = bool(mistakes) and mistakes[0].file is not None
    table.add_column("file" if files else "test row", justify="left" if files else "right", overflow="fold")
    for column, justify in (("true y" if regression else "true", "left"),
                            ("predicted ŷ" if regression else "predicted (p)", "left"),
                            ("|ŷ − y|" if regression else "loss", "right")):
        table.add_column(column, justify=justify)
    names = feature_names[:3] if mistakes and mistakes[0].features else []
    for name in names:
        table.add_column(escape(name[:14]), justify="right")
    for mistake in mistakes:
        said = mistake.predicted + (f" ({mistake.probability:.2f})" if mistake.probability is not None else "")
        table.add_row(escape(mistake.file) if files else str(mistake.index), escape(mistake.true), escape(said),
                      f"{mistake.loss:.3g}", *[f"{value:.3g}" for value in mistake.features[:len(names)]])
    return table


def first_layer_table(units, feature_names: list[str], normalize: str = "none", columns: int = 4) -> Table:
    """The first layer's weights w and bias b per unit (the numbers behind units.png): up to columns
    features as columns of their own, else each unit's strongest weights by name. normalize: the run's
    data.normalize, since w multiplies x as the model sees it."""
    seen = {"standard": "; x standardised", "minmax": "; x scaled to 0–1"}.get(normalize, "")  # data.normalize
    table = Table(title="First layer: weights w and bias b", caption=f"each unit's z = w·x + b{seen}")
    table.add_column("unit", justify="right")
    table.add_column("b", justify="right")
    whole = len(feature_names) <= columns
    for name in feature_names if whole else ["the largest |w|, by input"]:
        table.add_column(f"w ({escape(name)})" if whole else name, justify="right" if whole else "left",
                         overflow="fold")
    for unit in units:
        if whole:
            cells = [f"{weight:+.3g}" for weight in unit.weights]
        else:
            strongest = sorted(range(len(unit.weights)), key=lambda index: -abs(unit.weights[index]))[:3]
            cells = [", ".join(f"{escape(feature_names[index])} {unit.weights[index]:+.3g}" for index in strongest)]
        table.add_row(str(unit.unit), f"{unit.bias:+.3g}", *cells)
    return table


def activity_table(layers) -> Table:
    """Per hidden layer: dead ReLU units and saturated sigmoid/tanh outputs on the training set."""
    table = Table(title="Hidden layers on the training set")
    for column in ("layer", "activation", "units", "dead", "saturated"):
        table.add_column(column, justify="left" if column in ("layer", "activation") else "right")
    for row in layers:
        table.add_row(f"{row.layer}: {escape(row.name)}", row.activation, str(row.units),
                      "—" if row.dead is None else f"{row.dead:.0%}",
                      "—" if row.saturated is None else f"{row.saturated:.0%}")
    return table


def sweep_table(sweep: Sweep):
    """A rich table: one row per combination, best validation first."""
    multiple = len(sweep.seeds) > 1
    title = (f"Sweep {sweep.sweep_dir.name}: sorted by validation {sweep.metric}"
             f"{f' (mean ± std over {len(sweep.seeds)} seeds)' if multiple else ''}")
    table = Table(title=escape(title))
    for axis in sweep.axes:
        table.add_column(escape(parse_path(axis.key)[-1]), justify="right")
    for column in (f"validation {sweep.metric}", f"train {sweep.metric}", f"test {sweep.metric}", "runs"):
        table.add_column(column, justify="right")
    best = sweep.best()
    for group in sweep.groups():
        finished = sum(member.status == "finished" for member in group.members)
        statuses = ", ".join(sorted({member.status for member in group.members} - {"finished"}))
        value = format_number(group.mean) + (f" ± {format_number(group.std)}" if multiple and
                                             group.std is not None else "")
        style = "bold green" if best is not None and group.values == best.values else None
        table.add_row(*[escape(group.values[axis.key]) for axis in sweep.axes], value,
                      format_number(group.train_mean), format_number(group.test_mean),
                      f"{finished}/{len(group.members)}" + (f" ({statuses})" if statuses else ""), style=style)
    return table
