"""The `nnlearn` command line. Each command is a thin wrapper over a library function.

Nothing here imports TensorFlow: only the commands that train or evaluate do, when they run.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from nnlearn.cli.display import error_json, make_console, print_error, print_report, print_table, print_wrapped
from nnlearn.cli.process import exit_after, exit_interrupted, guard_output, ignore_further_interrupts, quiet_at_shutdown
from nnlearn.cli.usage import Commands
from nnlearn.errors import NnlearnError
from nnlearn.jsonout import json_text
from nnlearn.versions import installed_versions

app = typer.Typer(cls=Commands, no_args_is_help=True, add_completion=False, rich_markup_mode="markdown",
                  help="Learn neural networks by training real ones: YAML → tf.keras → train, evaluate, "
                       "explain.")

SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override a config value, e.g. --set fit.epochs=3 or --set model.layers[0].units=32 "
         "(repeatable; checked by the same schema).")]
ExpectOption = Annotated[Optional[list[str]], typer.Option(
    "--expect", metavar="EXPECTATION",
    help='An expectation such as "accuracy>=0.95" or "validation_loss<=0.3" (test split unless named; '
         'repeatable), as in the config\'s expect: list. One not met exits 1.')]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the config's warnings.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, for scripts and CI.")]


def _consoles(as_json: bool) -> tuple[Console, Console]:
    """(people, errors): with --json, everything for people goes to stderr."""
    errors = make_console(stderr=True)
    return (errors if as_json else make_console()), errors


def _emit(as_json: bool, result) -> None:
    """With --json, the command's result (a dict, or an object with to_json()) as one JSON object on
    stdout; everything for people went to stderr (see _consoles)."""
    if as_json:
        print(json_text(result), flush=True)


@contextmanager
def handled(as_json: bool):
    """User mistakes: a message and exit 2; failed runs: exit 1; Ctrl-C: exit 130. No tracebacks."""
    _, errors = _consoles(as_json)
    try:
        yield
    except NnlearnError as error:
        if error.exit_code in (130, 143):  # stopped by Ctrl-C or SIGTERM: a second press changes nothing now
            ignore_further_interrupts()
        print_error(errors, error)
        _emit(as_json, error_json(error))
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        ignore_further_interrupts()
        errors.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except OSError as error:  # a folder that cannot be written, a full disk: the user's to fix
        where = f" {error.filename}" if error.filename else ""
        problem = NnlearnError(f"cannot read or write{where}: {error.strerror or error}.",
                               hint="check the path, its permissions and the free disk space.")
        print_error(errors, problem)
        _emit(as_json, error_json(problem))
        raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        print(", ".join(f"{name} {version}" for name, version in installed_versions().items()))
        raise typer.Exit()


@app.callback()
def main_options(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                       help="Print the version and exit.")] = False):
    """nnlearn turns a YAML config into a tf.keras Sequential model, trains it and saves the run."""
    # Python warnings (Keras' and TensorFlow's, with their site-packages paths) are for programmers who use
    # these libraries; nnlearn tells a learner what matters in its own words, as a config warning with a fix.
    warnings.simplefilter("ignore")


@app.command()
def train(config: Annotated[Optional[Path], typer.Argument(help="The YAML config to train.")] = None,
          overrides: SetOption = None,
          resume: Annotated[Optional[Path], typer.Option("--resume", metavar="RUN_DIR",
                                                         help="Continue an interrupted run from its "
                                                              "last checkpoint.")] = None,
          from_run: Annotated[Optional[Path], typer.Option("--from", metavar="RUN_DIR",
                                                           help="Start a new run from a saved run's config "
                                                                "(change it with --set); the saved run is kept.")
                              ] = None,
          weights: Annotated[bool, typer.Option("--weights", help="With --from: start from the saved run's last "
                                                "good weights instead of fresh ones.")] = False,
          out: Annotated[Optional[Path], typer.Option("--out", help="Run directory to create "
                                                      "(default: runs/NAME-TIME); never overwritten.")] = None,
          expect: ExpectOption = None,
          no_plots: Annotated[bool, typer.Option("--no-plots", help="Do not draw RUN_DIR/plots/.")] = False,
          tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Write TensorBoard logs into "
                                                    "RUN_DIR/tensorboard/ (same as fit.tensorboard: true).")] = False,
          workers: Annotated[Optional[int], typer.Option("--workers", metavar="N", min=1, max=64,
                                                         help="Data-parallel: start N worker processes on this "
                                                              "machine (fit.distribute: multi_worker), each "
                                                              "taking batch_size/N of every batch.")] = None,
          cluster: Annotated[Optional[str], typer.Option("--cluster", metavar="HOST:PORT,...",
                                                         help="Data-parallel on several machines: every worker's "
                                                              "address, the same on each (instead of TF_CONFIG)."
                                                         )] = None,
          task_index: Annotated[Optional[int], typer.Option("--task-index", metavar="I", min=0,
                                                            help="With --cluster: this machine's place in it "
                                                                 "(0 is the chief, which writes the run).")] = None,
          quiet: QuietOption = False,
          as_json: JsonOption = False):
    """Build, compile, fit and evaluate the model of CONFIG, and save a new run directory.

    Ctrl-C stops after the current batch and keeps the last epoch's checkpoint (exit 130);
    `nnlearn train --resume RUN_DIR` continues it.
    """
    from nnlearn.cli.display import EpochProgress, expectations_table, metrics_table, print_diagnosis, print_wrapped
    from nnlearn.errors import NnlearnError
    from nnlearn.training.train import resume as resume_run
    from nnlearn.training.train import train as train_run

    if workers is not None:
        from nnlearn.training.distribute import launch_local, plan_local

        with handled(as_json):
            if cluster is not None or task_index is not None:
                raise NnlearnError("--workers starts every worker on this machine; --cluster and --task-index "
                                   "are for workers on several machines.", path="--workers",
                                   hint="give either --workers N, or --cluster and --task-index on each machine.")
            launch = plan_local(config, resume, from_run, list(overrides or []), out, workers)
        launch.arguments += ([f"--expect={text}" for text in expect or []] + (["--weights"] if weights else [])
                             + (["--tensorboard"] if tensorboard else []))
        launch.chief_arguments = ((["--no-plots"] if no_plots else []) + (["--quiet"] if quiet else [])
                                  + (["--json"] if as_json else []))
        raise typer.Exit(launch_local(launch, _consoles(as_json)[1]))
    if cluster is not None or task_index is not None:
        import os

        from nnlearn.training.distribute import cluster_from_option

        with handled(as_json):
            if cluster is None:
                raise NnlearnError("--task-index goes with --cluster, the addresses of every worker.",
                                   path="--task-index", hint="e.g. --cluster host1:12345,host2:12345 --task-index 0")
            os.environ["TF_CONFIG"] = cluster_from_option(cluster, task_index)
        if resume is None:
            overrides = list(overrides or []) + ["fit.distribute=multi_worker"]
    people, _ = _consoles(as_json)
    progress = EpochProgress(people, quiet)
    with handled(as_json), _failed_runs_stay_useful(people, not no_plots, as_json):
        if resume is not None:
            if config is not None or overrides or out is not None or from_run is not None:
                from nnlearn.runs.rundir import RunDir

                new_run = f"start a new run from it with other settings: nnlearn train --from {resume} --set KEY=VALUE"
                hint = (f"continue it: nnlearn train --resume {resume}; or {new_run}"
                        if not RunDir(resume).is_finished() else
                        f"{resume} has finished, so there is nothing to continue. Train it longer from its last "
                        f"weights: nnlearn train --from {resume} --weights --set fit.epochs=N; or {new_run}")
                raise NnlearnError("--resume continues a run exactly, with its saved config; it takes no "
                                   "CONFIG, --from, --set or --out.", hint=hint)
            run = resume_run(resume, progress=progress, expect=expect or [])
        elif from_run is not None:
            if config is not None:
                raise NnlearnError("--from starts from a saved run's config; give either CONFIG or --from, "
                                   "not both.", hint=f"nnlearn train --from {from_run} --set KEY=VALUE")
            from nnlearn.training.train import train_from

            overrides = list(overrides or []) + (["fit.tensorboard=true"] if tensorboard else [])
            run = train_from(from_run, overrides, out=out, progress=progress, expect=expect or [],
                             weights=weights)
        elif weights:
            raise NnlearnError("--weights goes with --from RUN_DIR: the run whose weights to start from.",
                               hint="e.g. nnlearn train --from RUN_DIR --weights --set fit.epochs=50")
        elif config is None:
            raise NnlearnError("give a CONFIG to train, --from RUN_DIR, or --resume RUN_DIR.",
                               hint="e.g. nnlearn train configs/softmax_digits.yaml")
        else:
            overrides = list(overrides or []) + (["fit.tensorboard=true"] if tensorboard else [])
            with _every_problem_as_validate_finds_them(config, overrides):
                run = train_run(config, overrides, out=out, progress=progress, expect=expect or [])
        if not no_plots:
            _draw_plots_of_a_finished_run(run)
    if people.is_terminal and run.history:
        people.print(_loss_line(people, run.history))
    session = progress.trained
    title = (f"{session} epochs in {run.seconds:.1f} s" if session == run.epochs else
             f"{session} more epochs in {run.seconds:.1f} s ({run.epochs} in all)")
    if run.early_stopping:
        from nnlearn.cli.display import early_stopping_line

        print_wrapped(people, "", early_stopping_line(run.early_stopping))
    people.print(metrics_table(run.metrics, run.baseline, title=title))
    from nnlearn.runs.rundir import RunDir

    saved = RunDir(run.run_dir)
    if saved.tensorboard_dir.is_dir():
        people.print(f"TensorBoard logs: tensorboard --logdir {escape_markup(str(saved.tensorboard_dir))}",
                     soft_wrap=True)  # one line, so the command can be copied whole
    if not no_plots:
        print_wrapped(people, "", f"Plots in {saved.plots_dir}; one HTML page of it all: "
                                  f"`nnlearn report {run.run_dir}`.")
    print_wrapped(people, "", f"Saved the run in {run.run_dir}; evaluate it again with "
                              f"`nnlearn eval {run.run_dir}`.")
    if run.expectations:
        people.print(expectations_table(run.expectations))
    from nnlearn.insight.diagnose import diagnose_run

    with handled(as_json):
        verdicts = diagnose_run(run.run_dir, run.prepared)
    print_diagnosis(people, verdicts)
    _emit(as_json, {**run.to_json(), "diagnosis": [verdict.to_json() for verdict in verdicts]})
    if not run.passed:
        raise typer.Exit(1)


def _loss_line(console: Console, history: list[dict]) -> str:
    """`loss per epoch ▇▅▃▂▁ first → last`, on one line of the console at any width."""
    from nnlearn.cli.display import format_number
    from nnlearn.pictures.plots import sparkline

    losses = [row["loss"] for row in history]
    ends = f" {format_number(losses[0])} → {format_number(losses[-1])}"
    room = max(10, min(60, console.width - 1 - len("loss per epoch ") - len(ends)))  # short of the last column
    shown = losses if len(losses) <= room else [losses[i * len(losses) // room] for i in range(room)]
    return f"loss per epoch {sparkline(shown)}{ends}"


def _draw_plots_of_a_finished_run(run) -> None:
    """The run is saved before its pictures are drawn: a Ctrl-C now stops the drawing, not the run."""
    from nnlearn.errors import Interrupted
    from nnlearn.pictures.plots import draw_plots

    try:
        draw_plots(run.run_dir, run.prepared)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while drawing the plots; the run itself is finished and saved in "
                          f"{run.run_dir}.", hint=f"draw them with: nnlearn plot {run.run_dir}") from None


@contextmanager
def _failed_runs_stay_useful(people: Console, plots: bool, as_json: bool):
    """A run whose loss became NaN still gets its learning curves and its diagnosis."""
    from nnlearn.errors import RunFailed

    try:
        yield
    except RunFailed as failure:
        if failure.run_dir is not None:
            from nnlearn.cli.display import print_diagnosis, print_error
            from nnlearn.insight.diagnose import diagnose_run

            print_error(_consoles(as_json)[1], failure)
            from nnlearn.runs.rundir import RunDir

            if plots and RunDir(failure.run_dir).history():  # at least one good epoch to draw
                from nnlearn.pictures.plots import draw_plots

                for drawn in draw_plots(failure.run_dir):
                    people.print(f"The learning curves up to the last good epoch: {escape_markup(str(drawn))}")
            print_diagnosis(people, diagnose_run(failure.run_dir))
            _emit(as_json, error_json(failure))
            raise typer.Exit(1) from None
        raise


@app.command("eval")
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

    people, errors = _consoles(as_json)
    with handled(as_json):
        result = evaluate(run_dir, expect or [], mistakes)
    for warning in result.warnings:
        print_wrapped(errors, "[yellow]warning[/]: ", warning, 2)
    people.print(metrics_table({"test": result.test}, result.baseline,
                               title=f"Test metrics of {escape_markup(str(run_dir))}"))
    if result.confusion_matrix is not None:
        people.print(confusion_table(result.class_names, result.confusion_matrix))
    if result.mistakes:
        people.print(mistakes_table(result.mistakes, result.feature_names, result.class_names is None))
    if result.expectations:
        people.print(expectations_table(result.expectations))
    from nnlearn.insight.diagnose import diagnose_run

    with handled(as_json):
        verdicts = diagnose_run(run_dir)
    print_diagnosis(people, verdicts)
    _emit(as_json, {**result.to_json(), "diagnosis": [verdict.to_json() for verdict in verdicts]})
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def validate(configs: Annotated[list[Path], typer.Argument(help="One or more YAML configs.")],
             overrides: SetOption = None, quiet: QuietOption = False, as_json: JsonOption = False):
    """Check configs without training (and without importing TensorFlow): exit 0 if all are valid."""
    from nnlearn.workflows.validate import validate_file

    people, _ = _consoles(as_json)
    reports = [validate_file(path, overrides or []) for path in configs]
    for report in reports:
        if quiet:
            report.warnings = []
        print_report(people, report)
    _emit(as_json, {"files": [report.to_json() for report in reports]})
    raise typer.Exit(0 if all(report.valid for report in reports) else 2)


@app.command()
def smoke(paths: Annotated[Optional[list[Path]], typer.Argument(help="Configs or folders of configs "
                                                                "(default: configs/).")] = None,
          junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write JUnit XML here.")] = None,
          as_json: JsonOption = False):
    """Check that every config builds and learns: a few steps on a small subset must lower the loss.

    Exit 0 when all pass, 1 when any fails to learn, 2 when any config is invalid.
    """
    from rich.markup import escape

    from nnlearn.cli.tables import smoke_table
    from nnlearn.workflows.smoke import STEPS, exit_code, find_configs, junit_xml, smoke_config

    people, _ = _consoles(as_json)
    with handled(as_json):
        configs = find_configs(paths or [Path("configs")])
    results = []
    for path in configs:
        with handled(as_json):
            result = smoke_config(path)
        results.append(result)
        colour = {"passed": "green", "failed": "red", "invalid": "red"}[result.status]
        people.print(f"[{colour}]{result.status:>7}[/] {escape(str(path))} ({result.seconds:.1f} s)")
    people.print(smoke_table(results, STEPS))
    for result in results:
        if result.message:
            print_wrapped(people, f"[red]{result.status}[/] {escape(str(result.config))}: ", result.message, 2)
    code = exit_code(results)
    if junit:
        from nnlearn.runs.rundir import write_atomic

        write_atomic(junit, junit_xml(results))
    _emit(as_json, {"passed": code == 0, "exit_code": code,
                         "results": [result.to_json() for result in results]})
    raise typer.Exit(code)


@app.command()
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
    from nnlearn.insight.predict import predict as predict_rows

    people, _ = _consoles(as_json)
    with handled(as_json):
        if output is not None and output.exists():
            raise NnlearnError(f"{output} already exists; nnlearn never overwrites your files.",
                               path="--output", hint="give a new file name.")
        if (input_file is None) == (not row):
            said = "both --input and --row were given: use one" if row else "no rows were given"
            raise NnlearnError(f"{said}; the rows to predict come with --input FILE or with --row NAME=VALUE.",
                               path="--input", hint=f"e.g. nnlearn predict {run_dir} --input new_rows.csv")
        if row:
            import tempfile

            from nnlearn.insight.predict import input_columns, typed_rows

            with tempfile.TemporaryDirectory() as folder:
                result = predict_rows(run_dir, typed_rows(row, input_columns(run_dir), Path(folder)))
        else:
            result = predict_rows(run_dir, input_file)
        if output is not None:
            from nnlearn.runs.rundir import write_atomic

            write_atomic(output, result.to_csv())
    for warning in result.warnings:
        print_wrapped(_consoles(as_json)[1], "[yellow]warning[/]: ", warning, 2)
    people.print(predictions_heading(run_dir), soft_wrap=True)
    print_table(people, predictions_table(run_dir, result, top=None if every_class else 3))
    if output is not None:
        people.print(f"Wrote {len(result.rows)} predictions to {escape_markup(str(output))}.")
    _emit(as_json, {"run_dir": str(run_dir), "columns": result.columns, "predictions": result.rows,
                          "warnings": result.warnings})


@app.command()
def runs(folder: Annotated[Path, typer.Argument(help="The folder holding run directories.")] = Path("runs"),
         as_json: JsonOption = False):
    """List saved runs: name, start, epochs, key test metric, status."""
    from nnlearn.cli.tables import runs_table
    from nnlearn.runs.catalog import list_runs

    people, _ = _consoles(as_json)
    with handled(as_json):
        summaries = list_runs(folder)
    print_table(people, runs_table(folder, summaries))
    _emit(as_json, {"runs": [run.to_json() for run in summaries]})


@app.command()
def compare(run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
            html_file: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained "
                                                              "HTML report of the runs side by side.")] = None,
            as_json: JsonOption = False):
    """Show how runs' configs differ and their metrics side by side."""
    from nnlearn.cli.tables import comparison_legend, comparison_tables
    from nnlearn.errors import NnlearnError
    from nnlearn.runs.catalog import compare as compare_runs

    people, _ = _consoles(as_json)
    with handled(as_json):
        if len(run_dirs) < 2:
            raise NnlearnError(f"compare needs two or more runs to set side by side; it was given one "
                               f"({run_dirs[0]}).", hint=f"e.g. nnlearn compare {run_dirs[0]} OTHER_RUN_DIR; "
                                                         "`nnlearn runs` lists your runs.")
        _refuse_existing(html_file)
        result = compare_runs(run_dirs)
    for line in comparison_legend(run_dirs):
        people.print(line, soft_wrap=True)
    for table in comparison_tables(run_dirs, result):
        print_table(people, table)
    if html_file is not None:
        with handled(as_json):
            from nnlearn.pictures.report import comparison_report

            _write_new(html_file, comparison_report(run_dirs))
        people.print(f"Wrote {escape_markup(str(html_file))}.")
    _emit(as_json, result.to_json())


def _write_new(path: Path, text: str) -> None:
    """Write a file the user named, atomically, refusing to overwrite one that exists."""
    from nnlearn.runs.rundir import write_atomic

    _refuse_existing(path)
    write_atomic(path, text)


def _refuse_existing(path: Path | None) -> None:
    """Refuse an output file the user named that exists: checked before any work, and again when writing."""
    from nnlearn.errors import NnlearnError

    if path is not None and path.exists():
        raise NnlearnError(f"{path} already exists; nnlearn never overwrites your files.",
                           hint="give a new file name.")


@app.command()
def plot(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
         as_json: JsonOption = False):
    """(Re)draw a run's plots into RUN_DIR/plots/: learning curves, confusion matrix, decision
    boundary (two features) or predicted against true (regression)."""
    from nnlearn.pictures.plots import draw_plots

    people, _ = _consoles(as_json)
    with handled(as_json):
        written = draw_plots(run_dir)
    for path in written:
        people.print(f"Wrote {escape_markup(str(path))}")
    _emit(as_json, {"run_dir": str(run_dir), "plots": [str(path) for path in written]})


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
           output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The HTML file to write "
                                                          "(default: RUN_DIR/report.html).")] = None,
           as_json: JsonOption = False):
    """Write one self-contained HTML report of a run (config, model, warnings, metrics, plots), or of a
    sweep folder made by `nnlearn sweep` (its ranking, plots and runs)."""
    from nnlearn.pictures.report import REPORT_FILE, run_report, sweep_report
    from nnlearn.runs.rundir import RunDir
    from nnlearn.runs.sweep_folder import is_sweep_dir, write_sweep_page

    people, _ = _consoles(as_json)
    with handled(as_json):
        sweep = is_sweep_dir(run_dir)
        text = sweep_report(run_dir) if sweep else run_report(run_dir)
        if output is not None:
            target = output
            _write_new(output, text)
        elif sweep:  # inside the folder: regenerated from its own files
            target = write_sweep_page(run_dir, REPORT_FILE, text)
        else:
            target = RunDir(run_dir).write_page(REPORT_FILE, text)
    people.print(f"Wrote {escape_markup(str(target))}")
    _emit(as_json, {"run_dir": str(run_dir), "report": str(target)})


@app.command()
def diagnose(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
             as_json: JsonOption = False):
    """What the run's own numbers say, in the course's words: learned nothing, diverged, still improving,
    high bias (underfitting) or high variance (overfitting), each with its evidence and a next step.
    Works on failed and interrupted runs too (without TensorFlow)."""
    from nnlearn.cli.display import print_diagnosis
    from nnlearn.insight.diagnose import diagnose_run

    people, _ = _consoles(as_json)
    with handled(as_json):
        verdicts = diagnose_run(run_dir)
    print_diagnosis(people, verdicts)
    _emit(as_json, {"run_dir": str(run_dir), "diagnosis": [v.to_json() for v in verdicts]})


@app.command()
def inspect(run_dir: Annotated[Path, typer.Argument(help="A run directory made by `nnlearn train`.")],
            mistakes: Annotated[int, typer.Option("--mistakes", metavar="N", min=0, max=1000,
                                                  help="How many of the worst test examples to list.")] = 8,
            as_json: JsonOption = False):
    """Look inside a trained model: dead ReLU units, saturated sigmoid/tanh outputs, the first layer's
    weights and the test examples it gets most wrong (the numbers behind `plots/units.png` and
    `plots/mistakes.png`)."""
    from nnlearn.cli.tables import activity_table, mistakes_table
    from nnlearn.runs.rundir import RunDir
    from nnlearn.runs.saved_run import prepare_saved_run

    people, errors = _consoles(as_json)
    with handled(as_json):
        run = RunDir.open(run_dir)
        prepared, _ = prepare_saved_run(run)
        model = run.load_model()  # a RunError before TensorFlow is imported when the run did not finish
        from nnlearn.insight import inside

        layers = inside.activity(model, prepared)
        worst = inside.mistakes(model, prepared, mistakes)
        numbers = inside.inside_numbers(model, prepared, mistakes)
    people.print(activity_table(layers))
    for warning in numbers["warnings"]:
        print_wrapped(errors, "[yellow]warning[/]: ", warning, 2)
    if worst:
        people.print(mistakes_table(worst, prepared.dataset.feature_names, prepared.dataset.kind == "continuous"))
    _emit(as_json, {"run_dir": str(run_dir), **numbers})


@app.command()
def explain(config: Annotated[Path, typer.Argument(help="The YAML config to explain.")],
            overrides: SetOption = None, quiet: QuietOption = False, as_json: JsonOption = False):
    """Per layer: output shape, parameters with their formula, activation; then what the output and
    loss compute and the loss an untrained model should have. No TensorFlow needed."""
    from rich.markup import escape

    from nnlearn.cli.display import print_warnings
    from nnlearn.cli.tables import explanation_table
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.explain import explain_prepared

    people, _ = _consoles(as_json)
    with handled(as_json):
        explanation = explain_prepared(prepare(load_config(config, overrides or []), config.parent))
    people.print(explanation_table(config, explanation))
    people.print(f"[bold]Inputs[/]: {escape(explanation.inputs)}.")
    people.print(f"[bold]Output and loss[/]: {escape(explanation.output)}.")
    people.print(f"[bold]Before training[/] the loss should be about {escape(explanation.expected_loss_reason)}.")
    if not quiet:
        print_warnings(people, explanation.warnings)
    if as_json:
        result = explanation.to_json()
        if quiet:
            result["warnings"] = []
        print(json_text(result))


@app.command()
def gradcheck(config: Annotated[Path, typer.Argument(help="The YAML config whose model to check.")],
              overrides: SetOption = None, as_json: JsonOption = False):
    """Compare backpropagation's gradients with finite differences (ε = 1e-3) in float64, per weight
    tensor, on a small batch. Exit 1 if any relative error exceeds 1e-4."""
    from nnlearn.cli.tables import gradcheck_table
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.gradcheck import TOLERANCE
    from nnlearn.teaching.gradcheck import gradcheck as check_gradients

    people, _ = _consoles(as_json)
    with handled(as_json):
        result = check_gradients(prepare(load_config(config, overrides or []), config.parent))
    people.print(gradcheck_table(result, TOLERANCE))
    people.print(f"Backpropagation: 1 backward pass ({result.backward_seconds * 1000:.1f} ms) for all "
                 f"{result.total_params:,} parameters. Finite differences need 2 forward passes per "
                 f"parameter: {2 * result.total_params:,} for all of them; the {result.forward_evaluations:,} "
                 f"done here took {result.finite_difference_seconds:.2f} s.")
    _emit(as_json, result.to_json())
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def eject(config: Annotated[Path, typer.Argument(help="The YAML config to turn into a script.")],
          output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the script here "
                                                         "(never overwritten); default: print it.")] = None,
          overrides: SetOption = None):
    """Write a standalone plain tf.keras script equivalent to CONFIG: same data, split, normalisation and
    seed, with the three steps visible as Sequential([...]), compile(...) and fit(...)."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.eject import eject as eject_script

    with handled(False):
        _refuse_existing(output)
        prepared = prepare(load_config(config, overrides or []), config.parent)
        text = eject_script(prepared, config.parent, output)
        if output is None:
            print(text, end="")
            return
        _write_new(output, text)
    print_wrapped(make_console(stderr=True), "", f"Wrote {output}; run it with: python {output}")


@app.command()
def lesson(name: Annotated[Optional[str], typer.Argument(help="The lesson to run; leave out for the list.")] = None,
           quick: Annotated[bool, typer.Option("--quick", help="Less data and fewer epochs: the same "
                                               "conclusion, sooner (what the tests run).")] = False,
           as_json: JsonOption = False):
    """Run a small real experiment for one idea of the course, explain it, and show the measured numbers.

    Without NAME: the list of lessons.
    """
    from rich.markup import escape
    from rich.panel import Panel

    from nnlearn.cli.tables import lesson_table
    from nnlearn.teaching.lessons import LESSONS, run_lesson

    people, _ = _consoles(as_json)
    if name is None:
        for number, item in enumerate(LESSONS, start=1):
            people.print(f"{number:>2}. [bold]{item.name}[/]: {escape(item.title)}")
        people.print("Run one with: nnlearn lesson NAME")
        _emit(as_json, {"lessons": [{"name": item.name, "title": item.title} for item in LESSONS]})
        return
    with handled(as_json), _lesson_progress(people) as progress:
        result = run_lesson(name, quick, progress)
    people.print(Panel(escape(result.explanation), title=f"[bold]{escape(result.title)}[/]"))
    people.print(lesson_table(result))
    _emit(as_json, result.to_json())


@app.command()
def watch(config: Annotated[Path, typer.Argument(help="The YAML config to train, and retrain on every save.")],
          overrides: SetOption = None,
          max_runs: Annotated[Optional[int], typer.Option("--max-runs", hidden=True,
                                                          help="Stop after this many completed runs.")] = None,
          quiet: QuietOption = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per completed run, one "
                                                "per line.")] = False):
    """Train CONFIG, then retrain it every time the file is saved, with TensorFlow kept loaded.

    Each run is a normal run directory; its test metrics are shown beside the previous run's, with
    what changed in the config and the loss per epoch. The config's warnings come before each run
    (--quiet hides them). An invalid edit is reported and watching goes on. Ctrl-C while waiting exits
    0; during a run it stops that run like `nnlearn train` (exit 130).
    """
    from rich.markup import escape

    from nnlearn.cli.display import EpochProgress, early_stopping_line, watch_table
    from nnlearn.cli.tables import as_yaml
    from nnlearn.workflows.watch import watch as watch_config

    people, errors = _consoles(as_json)

    def show_changes(changes) -> None:  # before the retraining starts: what the save changed
        for key, before, after in changes:
            people.print(f"changed [bold]{escape(key)}[/]: {escape(as_yaml(before))} → {escape(as_yaml(after))}")
        if not changes:
            people.print("no config value changed; training again.")

    def show_run(retrained) -> None:
        run = retrained.run
        if run.history:
            people.print(_loss_line(people, run.history))
        if run.early_stopping:
            print_wrapped(people, "", early_stopping_line(run.early_stopping))
        people.print(watch_table(retrained))
        people.print(f"{run.epochs} epochs in {run.seconds:.1f} s; saved in [bold]{escape(str(run.run_dir))}[/]")
        people.print(f"Watching {escape(str(config))}: save it to train again; Ctrl-C to stop.")
        _emit(as_json, retrained.to_json())  # one line per run, flushed: a script reads it at once

    def show_error(error) -> None:
        print_error(errors, error)
        errors.print(f"Still watching {escape(str(config))}: fix it and save again.")

    with handled(as_json):
        try:
            watch_config(config, overrides or [], on_run=show_run, on_error=show_error, on_changes=show_changes,
                         progress=EpochProgress(people, quiet=quiet), max_runs=max_runs)
        except KeyboardInterrupt:
            errors.print("stopped watching")


@app.command()
def sweep(config: Annotated[Optional[Path], typer.Argument(help="The YAML config every run starts from.")] = None,
          grids: Annotated[Optional[list[str]], typer.Option(
              "--grid", metavar="KEY=V1,V2,...",
              help="Values to try for one config key, e.g. --grid compile.optimizer.learning_rate=0.001,0.01,0.1 "
                   "(repeatable: every combination is trained; checked by the same schema as --set).")] = None,
          overrides: SetOption = None,
          seeds: Annotated[int, typer.Option("--seeds", help="Train every combination with this many seeds "
                                             "(seed, seed+1, ...) and show mean ± std.")] = 1,
          resume: Annotated[Optional[Path], typer.Option("--resume", metavar="SWEEP_DIR",
                                                         help="Continue an interrupted sweep: finished runs "
                                                              "are skipped.")] = None,
          out: Annotated[Optional[Path], typer.Option("--out", help="The sweep folder to create (default: "
                                                      "runs/sweep-NAME-TIME); never overwritten.")] = None,
          no_plots: Annotated[bool, typer.Option("--no-plots", help="Do not draw the sweep's plots.")] = False,
          as_json: JsonOption = False):
    """Train every combination of the --grid values as normal runs in one sweep folder, in one process,
    and rank them by the validation metric (never the test split).

    Writes SWEEP_DIR/sweep.csv, sweep_curves.png (one colour per value) and, for one numeric key,
    sweep_metric.png. Ctrl-C keeps the finished runs (exit 130); `nnlearn sweep --resume SWEEP_DIR`
    continues. `nnlearn report SWEEP_DIR` makes one HTML page of it.
    """
    from rich.markup import escape

    from nnlearn.cli.display import format_number
    from nnlearn.cli.tables import sweep_table
    from nnlearn.errors import NnlearnError
    from nnlearn.pictures.sweep_plots import draw_sweep_plots
    from nnlearn.runs.sweep_folder import open_sweep
    from nnlearn.workflows.sweep import run_sweep, start_sweep

    people, _ = _consoles(as_json)

    def finished_one(position, total, member):
        shown = " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in member.values.items())
        seed = f" seed {member.seed}" if len(result.seeds) > 1 else ""
        validation = (member.metrics.get("validation") or {}).get(result.metric)
        measured = (f"validation {result.metric} {format_number(validation)} ({member.seconds:.1f} s)"
                    if member.status == "finished" else f"[red]{member.status}[/]")
        people.print(f"[{position}/{total}] {escape(shown)}{seed} → {measured}")

    with handled(as_json):
        if resume is not None:
            if config is not None or grids or overrides or out is not None or seeds != 1:
                raise NnlearnError("--resume continues a sweep with its saved config and grid; it takes no "
                                   "CONFIG, --grid, --set, --seeds or --out.",
                                   hint=f"nnlearn sweep --resume {resume}")
            result, config_dir = open_sweep(resume)
        elif config is None:
            raise NnlearnError("give a CONFIG to sweep, or --resume SWEEP_DIR.",
                               hint="e.g. nnlearn sweep configs/iris_softmax.yaml "
                                    "--grid compile.optimizer.learning_rate=0.001,0.01,0.1")
        else:
            result, config_dir = start_sweep(config, list(overrides or []), list(grids or []), seeds, out)
        people.print(f"Sweep → [bold]{escape(str(result.sweep_dir))}[/]: {len(result.members)} runs, "
                     f"ranked by validation {result.metric}")
        run_sweep(result, config_dir, on_run=finished_one)
        if not no_plots:
            result.plots = draw_sweep_plots(result)
    if result.skipped:
        people.print(f"Skipped {len(result.skipped)} runs that had already ended.")
    people.print(sweep_table(result))
    best = result.best()
    if best is not None:
        chosen = " ".join(f"--set {key}={value}" for key, value in best.values.items())
        print_wrapped(people, "", f"Best by validation {result.metric} (the test split never chose anything; it "
                                  f"stays an honest final measurement): `{chosen}`")
    print_wrapped(people, "", f"Wrote {result.sweep_dir / 'sweep.csv'}; one HTML page of it all: "
                              f"`nnlearn report {result.sweep_dir}`.")
    _emit(as_json, result.to_json())
    if not any(member.status == "finished" for member in result.members):
        raise typer.Exit(1)


@app.command("lr-find")
def lr_find(config: Annotated[Path, typer.Argument(help="The YAML config whose model to test.")],
            overrides: SetOption = None,
            out: Annotated[Optional[Path], typer.Option("--out", help="The folder for the curve (default: "
                                                        "runs/lr-find-NAME-TIME); never overwritten.")] = None,
            as_json: JsonOption = False):
    """The learning-rate range test: a fresh model takes one step per batch while the learning rate
    grows from 1e-6 to 10, until the loss blows up. Plots loss against learning rate and suggests one.

    The config's model, optimizer and batch size are used; nothing is trained for real and no run changes.
    """
    from rich.markup import escape

    from nnlearn.cli.display import format_number
    from nnlearn.config.loading import load_config
    from nnlearn.workflows.lr_find import PLOT_FILE, STEPS, range_test, save

    people, _ = _consoles(as_json)

    def step_done(step, rate, loss):
        if step % 10 == 0:
            people.print(f"step {step:>3}/{STEPS}  learning rate {rate:.2g}  loss {format_number(loss)}")

    with handled(as_json):
        loaded = load_config(config, overrides or [])
        result = range_test(loaded, config.parent, on_step=step_done)
        folder = save(result, out)
    first, last, middle = result.valley()
    people.print(f"Stopped after {len(result.losses)} steps ({result.stopped}). The smoothed loss fell longest "
                 f"from learning rate {first:.2g} to {last:.2g}, fell fastest at {result.steepest_rate:.2g} and "
                 f"was lowest at {result.minimum_rate:.2g}.")
    where = (f"halfway along that fall ({middle:.3g}), brought into the usual range" if result.moved_into_range
             else "halfway along that fall: large steps that still go downhill")
    people.print(f"Suggested learning rate: [bold]{result.suggested_rate:g}[/], {where}. "
                 f"Plot: {escape(str(folder / PLOT_FILE))}")
    people.print("Use it:")  # the command on a line of its own, never wrapped, so it can be copied whole
    people.print(f"  nnlearn train {escape(str(config))} --set {result.override()}", soft_wrap=True)
    _emit(as_json, result.to_json())


@contextmanager
def _every_problem_as_validate_finds_them(config: Path, overrides: list[str]):
    """A config the schema refuses: every problem validate finds, in its order (the data can show that the
    loss, not the metric the schema named, is the mistake)."""
    from nnlearn.errors import ConfigError

    try:
        yield
    except ConfigError as error:
        from nnlearn.workflows.validate import validate_file

        problems = validate_file(config, overrides).errors
        if not problems:
            raise
        raise ConfigError(problems, source=error.source) from None


@contextmanager
def _lesson_progress(console: Console):
    """Live progress of a lesson on a terminal: a bar with what is being measured now, gone when it is
    done (the table's title says how long it took). A pipe or a CI log gets none of it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    if not console.is_terminal:
        yield lambda stage, fraction, detail: None
        return
    bar = Progress(BarColumn(bar_width=10), TimeElapsedColumn(),  # first, so 80 columns never cut them
                   TextColumn("{task.description}  [dim]{task.fields[detail]}[/]",
                              table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
                   console=console, transient=True, expand=True)
    task = bar.add_task("starting", total=1.0, detail="")
    with bar:
        yield lambda stage, fraction, detail: bar.update(task, description=escape_markup(stage),
                                                         completed=fraction, detail=escape_markup(detail))


config_app = typer.Typer(no_args_is_help=True, help="Inspect configs.")
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(config: Annotated[Path, typer.Argument(help="The YAML config.")],
                overrides: SetOption = None):
    """Print the fully resolved config, every default filled in (what train saves in the run)."""
    from nnlearn.config.authoring import resolved_yaml
    from nnlearn.config.loading import load_config

    with handled(False):
        print(resolved_yaml(load_config(config, overrides or [])), end="")


@app.command()
def init(template: Annotated[Optional[str], typer.Argument(help="logistic-regression, mlp-regression, softmax, "
                                                                "cnn or multilabel; leave out for the list.")
                              ] = None,
         path: Annotated[Optional[Path], typer.Argument(help="Where to write it (default: "
                                                             "TEMPLATE.yaml); never overwritten.")] = None):
    """Write a commented starter config that validates and trains as it is. Without TEMPLATE: the list."""
    from nnlearn.config.authoring import TEMPLATES, template_text, write_template

    if template is None:
        console = make_console()
        for name in TEMPLATES:
            first = next((line.lstrip("# ") for line in template_text(name).splitlines()
                          if line.startswith("# ") and "yaml-language-server" not in line), "")
            console.print(f"[bold]{name}[/]: {escape_markup(first.split(' Train it:')[0])}")
        console.print("Write one with: nnlearn init TEMPLATE [PATH]")
        return
    with handled(False):
        written = write_template(template, path or Path(f"{template}.yaml"))
    print_wrapped(make_console(), "", f"Wrote {written}. Next: `nnlearn validate {written}`, then "
                                      f"`nnlearn train {written}`.")


@app.command()
def schema():
    """Print the config's JSON Schema, for editors."""
    from nnlearn.config.authoring import config_schema

    print(config_schema(), end="")


def main() -> None:
    sys.unraisablehook = quiet_at_shutdown
    guard_output()
    try:
        app(prog_name="nnlearn")
    except KeyboardInterrupt:  # a second Ctrl-C while the first one's message was being printed
        exit_interrupted(130)
    except SystemExit as stop:
        exit_after(stop.code)
        raise


if __name__ == "__main__":
    sys.exit(main())
