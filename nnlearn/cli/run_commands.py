"""The commands that read a saved run: eval, predict, plot, report, diagnose, inspect."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape as escape_markup

from nnlearn.cli.common import (
    ExpectOption,
    JsonOption,
    consoles,
    emit,
    handled,
    write_new,
)
from nnlearn.cli.display import first_line, print_table, print_wrapped
from nnlearn.runs import lock
from nnlearn.runs.rundir import RunDir


def eval_command(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
                 expect: ExpectOption = None,
                 mistakes: Annotated[int, typer.Option("--mistakes", metavar="N", min=0, max=1000,
                                                       help="Also list the N test examples with the highest "
                                                            "loss (regression: the largest errors).")] = 0,
                 as_json: JsonOption = False):
    """Evaluate a saved run on its test split again (same split, same preprocessing)."""
    from nnlearn.cli.display import confusion_table, expectations_table, metrics_table, print_diagnosis
    from nnlearn.cli.tables import mistakes_table
    from nnlearn.insight.evaluation import evaluate

    people, errors = consoles(as_json)
    with handled(as_json):
        run = RunDir.open(run_dir)
        with first_line(people, f"Evaluating {escape_markup(str(run))} on its test split"):
            result = evaluate(run, expect or [], mistakes)
    for warning in result.warnings:
        print_wrapped(errors, "[yellow]warning[/]: ", warning, 2)
    people.print(metrics_table({"test": result.test}, result.baseline,
                               title=f"Test metrics of {escape_markup(str(run_dir))}"))
    if result.confusion_matrix is not None:
        people.print(confusion_table(result.class_names, result.confusion_matrix))
    if mistakes:
        people.print(mistakes_table(result.mistakes, result.feature_names, result.class_names is None, mistakes))
    if result.expectations:
        people.print(expectations_table(result.expectations))
    from nnlearn.insight.diagnose import diagnose_run

    with handled(as_json):
        verdicts = diagnose_run(run, result.prepared)  # the data evaluate prepared, not prepared again
    print_diagnosis(people, verdicts)
    emit(as_json, {**result.to_json(), "diagnosis": [verdict.to_json() for verdict in verdicts]})
    if not result.passed:
        raise typer.Exit(1)


def predict(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
            input_file: Annotated[Optional[Path], typer.Option("--input", help="Rows to predict: a CSV with the "
                                                               "training columns, an NPZ with an array x, or "
                                                               "images.")] = None,
            row: Annotated[Optional[list[str]], typer.Option("--row", metavar="NAME=VALUE",
                                                             help="Type a row instead of --input: --row "
                                                                  "temperature=200 --row duration=13.9 (a name "
                                                                  "given again starts the next row).")] = None,
            every_class: Annotated[bool, typer.Option("--all", help="Show every class's probability, not "
                                                      "only the top 3.")] = False,
            output: Annotated[Optional[Path], typer.Option("--output", help="Write the predictions to "
                                                           "this CSV (never overwritten).")] = None,
            as_json: JsonOption = False):
    """Predict new rows with a saved run, applying the run's own normalisation.

    Classifiers print the class and its probabilities, read as the loss reads the outputs: logits z
    (from_logits: true) get softmax (one class of K) or sigmoid (binary, multi-label); an output layer
    that applies them already gives the probabilities. Regression prints the predicted value.
    """
    from nnlearn.cli.tables import predictions_heading, predictions_table
    from nnlearn.errors import NnlearnError
    people, _ = consoles(as_json)
    with handled(as_json):
        if output is not None and output.exists():
            raise NnlearnError(f"{output} already exists; nnlearn never overwrites your files.",
                               path="--output", hint="give a new file name.")
        if (input_file is None) == (not row):
            said = "both --input and --row were given: use one" if row else "no rows were given"
            raise NnlearnError(f"{said}; the rows to predict come with --input FILE or with --row NAME=VALUE.",
                               path="--input", hint=f"e.g. nnlearn predict {run_dir} --input new_rows.csv")
        run = RunDir.open(run_dir)
        with first_line(consoles(as_json)[1], f"Predicting with {escape_markup(str(run))}"):
            result = _predicted(run, input_file, row)
        if output is not None:
            from nnlearn.runs.rundir import write_atomic

            write_atomic(output, result.to_csv())
    for warning in result.warnings:
        print_wrapped(consoles(as_json)[1], "[yellow]warning[/]: ", warning, 2)
    people.print(predictions_heading(run_dir), soft_wrap=True)
    print_table(people, predictions_table(run_dir, result, top=None if every_class else 3))
    if output is not None:
        people.print(f"Wrote {len(result.rows)} predictions to {escape_markup(str(output))}.")
    emit(as_json, {"run_dir": str(run_dir), "columns": result.columns, "predictions": result.rows,
                          "warnings": result.warnings})


def _predicted(run: RunDir, input_file: Path | None, row: list[str] | None):
    """The predictions of the rows of --input, or of the rows --row typed."""
    from nnlearn.insight.predict import input_columns, typed_rows
    from nnlearn.insight.predict import predict as predict_rows

    if not row:
        return predict_rows(run, input_file)
    with tempfile.TemporaryDirectory() as folder:  # the typed rows as a CSV, read like any --input
        return predict_rows(run, typed_rows(row, input_columns(run), Path(folder)), typed=True)


def plot(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
         as_json: JsonOption = False):
    """(Re)draw a run's plots into RUN_DIR/plots/: learning curves, confusion matrix, decision
    boundary (two features) or predicted against true (regression)."""
    from nnlearn.pictures.plots import draw_plots

    people, _ = consoles(as_json)
    with handled(as_json):
        run = RunDir.open(run_dir)
        run.take()  # before anything else: one writer at a time
        with first_line(people, f"Drawing the pictures of {escape_markup(str(run))}"):
            written = draw_plots(run)
    for path in written:
        people.print(f"Wrote {escape_markup(str(path))}")
    emit(as_json, {"run_dir": str(run_dir), "plots": [str(path) for path in written]})


def report(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
           output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The HTML file to write "
                                                          "(default: RUN_DIR/report.html).")] = None,
           as_json: JsonOption = False):
    """Write one self-contained HTML report of a run (config, model, warnings, metrics, plots), or of a
    sweep folder made by `nnlearn sweep` (its ranking, plots and runs)."""
    from nnlearn.pictures.report import REPORT_FILE, run_report, sweep_report
    from nnlearn.runs.sweep_folder import is_sweep_dir, write_sweep_page

    people, _ = consoles(as_json)
    with handled(as_json):
        sweep = is_sweep_dir(run_dir)
        if output is None:  # the page goes into the folder: hold it first, one writer at a time
            lock.take(run_dir) if sweep else RunDir.open(run_dir).take()
        text = sweep_report(run_dir) if sweep else run_report(RunDir.open(run_dir))
        if output is not None:
            target = output
            write_new(output, text)
        elif sweep:  # inside the folder: regenerated from its own files
            target = write_sweep_page(run_dir, REPORT_FILE, text)
        else:
            target = RunDir(run_dir).write_page(REPORT_FILE, text)
    people.print(f"Wrote {escape_markup(str(target))}")
    emit(as_json, {"run_dir": str(run_dir), "report": str(target)})


def diagnose(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
             as_json: JsonOption = False):
    """What the run's own numbers say, in the course's words: learned nothing, diverged, still improving,
    high bias (underfitting) or high variance (overfitting), each with its evidence and a next step.
    Works on failed and interrupted runs too (without TensorFlow)."""
    from nnlearn.cli.display import print_diagnosis
    from nnlearn.insight.diagnose import diagnose_run

    people, _ = consoles(as_json)
    with handled(as_json):
        verdicts = diagnose_run(RunDir.open(run_dir))
    print_diagnosis(people, verdicts)
    emit(as_json, {"run_dir": str(run_dir), "diagnosis": [v.to_json() for v in verdicts]})


def inspect(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
            mistakes: Annotated[int, typer.Option("--mistakes", metavar="N", min=0, max=1000,
                                                  help="How many of the worst test examples to list.")] = 8,
            as_json: JsonOption = False):
    """Look inside a trained model: dead ReLU units, saturated sigmoid/tanh outputs, the first layer's
    weights and the test examples it gets most wrong (the numbers behind `plots/units.png` and
    `plots/mistakes.png`)."""
    from nnlearn.cli.tables import activity_table, first_layer_table, mistakes_table
    from nnlearn.runs.saved_run import prepare_saved_run

    people, errors = consoles(as_json)
    with handled(as_json):
        run = RunDir.open(run_dir)
        prepared, _ = prepare_saved_run(run)
        with first_line(errors, f"Looking inside {escape_markup(str(run))}"):
            model = run.load_model()  # a RunError before TensorFlow is imported when the run did not finish
        from nnlearn.insight import inside

        layers = inside.activity(model, prepared)
        worst = inside.mistakes(model, prepared, mistakes)
        units = inside.first_layer_weights(model, prepared)
        numbers = inside.numbers_of(layers, units, worst, prepared)  # each measured once
    people.print(activity_table(layers))
    for warning in numbers["warnings"]:
        print_wrapped(errors, "[yellow]warning[/]: ", warning, 2)
    if units:
        people.print(first_layer_table(units, prepared.dataset.feature_names, prepared.config.data.normalize))
    if mistakes:
        people.print(mistakes_table(worst, prepared.dataset.feature_names, prepared.dataset.kind == "continuous",
                                    mistakes))
    emit(as_json, {"run_dir": str(run_dir), **numbers})
