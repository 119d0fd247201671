"""Rich tables for what the commands measured: smoke, predict, runs, compare, explain, gradcheck,
lessons. Each takes a result object and returns a table; the CLI prints it."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table

from nnlearn.display import format_number

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
    more = f" (first {shown} of {len(predictions.rows)})" if len(predictions.rows) > shown else ""
    table = Table(title=f"Predictions of {escape(str(run_dir))}{more}")
    table.add_column("row", justify="right")
    probabilities = [column for column in predictions.columns if column.startswith("p_")]
    ranked = top is not None and "class" in predictions.columns and len(probabilities) > top
    columns = [column for column in predictions.columns
               if not (ranked and (column.startswith("p_") or column == "class"))]  # "most likely" says it
    for column in columns:
        table.add_column(column, justify="left" if column in ("class", "labels", "file") else "right")
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


def runs_table(folder: Path, summaries) -> Table:
    """One row per run; the run's name is never cut (it is what you copy), so the rest is kept short
    and the table fits 80 columns for the usual runs/<name>-<time> names."""
    table = Table(title=f"Runs in {escape(str(folder))}", box=box.SIMPLE_HEAD, pad_edge=False)
    names = [run.run_dir.name for run in summaries]
    table.add_column("run", no_wrap=True, min_width=max(map(len, names), default=3))
    table.add_column("started (UTC)", overflow="fold")
    table.add_column("epochs", justify="right", overflow="fold")
    table.add_column("test", overflow="fold")
    table.add_column("status", overflow="fold")
    for run in summaries:
        epochs = f"{run.epochs}/{run.configured_epochs}" if run.configured_epochs else str(run.epochs)
        metric = f"{SHORT_METRIC.get(run.metric, run.metric)} {run.value:.3f}" if run.metric and isinstance(
            run.value, float) else "—"
        colour = STATUS_COLOURS.get(run.status, "white")
        started = run.started[5:16].replace("T", " ")  # month-day hour:minute
        table.add_row(escape(run.run_dir.name), started, epochs, metric, f"[{colour}]{run.status}[/]")
    return table


SHORT_METRIC = {"accuracy": "acc"}


def comparison_tables(run_dirs: list[Path], comparison) -> tuple[Table, Table]:
    """(how the configs differ, the metrics side by side)."""
    differences = Table(title="Config differences")
    differences.add_column("key")
    for run_dir in run_dirs:
        differences.add_column(escape(run_dir.name))
    for key, values in comparison.differences.items():
        differences.add_row(key, *[escape(str(value)) for value in values])
    if not comparison.differences:
        differences.add_row("(the configs are identical)", *[""] * len(run_dirs))
    metrics = Table(title="Metrics")
    metrics.add_column("split")
    metrics.add_column("metric")
    for run_dir in run_dirs:
        metrics.add_column(escape(run_dir.name), justify="right")
    for split, names in comparison.metrics.items():
        for name, values in names.items():
            metrics.add_row(split, name, *[format_number(value) for value in values])
    return differences, metrics


def explanation_table(config_path: Path, explanation) -> Table:
    table = Table(title=f"{escape(str(config_path))}: input shape {explanation.input_shape}")
    for column in ("layer", "output shape", "parameters", "activation", "what it does"):
        table.add_column(column)
    for row in explanation.layers:
        table.add_row(f"{row.index}: {row.type}", str(row.output_shape), row.formula, row.activation or "",
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


def lesson_table(result) -> Table:
    table = Table(title=f"Measured just now ({result.seconds:.1f} s)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in result.numbers.items():
        if isinstance(value, list) and not any(isinstance(item, list) for item in value):
            shown = ", ".join(f"{item:.6g}" if isinstance(item, float) else str(item) for item in value)
        else:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), escape(shown))
    return table


def mistakes_table(mistakes, feature_names: list[str], regression: bool) -> Table:
    """The test examples with the highest loss, worst first; tabular data shows its first features."""
    what = "largest absolute errors" if regression else "highest loss"
    table = Table(title=f"The {len(mistakes)} test examples with the {what}")
    for column, justify in (("test row", "right"), ("true", "left"), ("predicted", "left"),
                            ("|error|" if regression else "loss", "right")):
        table.add_column(column, justify=justify)
    names = feature_names[:3] if mistakes and mistakes[0].features else []
    for name in names:
        table.add_column(escape(name[:14]), justify="right")
    for mistake in mistakes:
        said = mistake.predicted + (f" ({mistake.probability:.2f})" if mistake.probability is not None else "")
        table.add_row(str(mistake.index), escape(mistake.true), escape(said), f"{mistake.loss:.3g}",
                      *[f"{value:.3g}" for value in mistake.features[:len(names)]])
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
