"""`nnlearn train`: a new run from a config, from a saved run (--from), or an interrupted one continued
(--resume), on this machine or data-parallel on several."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from nnlearn.cli.common import ExpectOption, JsonOption, QuietOption, SetOption, consoles, emit, handled
from nnlearn.cli.display import (
    EpochProgress,
    early_stopping_line,
    error_json,
    expectations_table,
    loss_line,
    metrics_table,
    print_diagnosis,
    print_wrapped,
)
from nnlearn.errors import Interrupted, NnlearnError
from nnlearn.runs.rundir import RunDir


@dataclass
class Request:
    """What `nnlearn train` was asked to do, as its options say."""

    config: Path | None
    overrides: list[str]
    resume: Path | None
    from_run: Path | None
    weights: bool
    out: Path | None
    expect: list[str]
    no_plots: bool
    tensorboard: bool
    workers: int | None
    cluster: str | None
    task_index: int | None
    quiet: bool
    as_json: bool


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
    request = Request(config, list(overrides or []), resume, from_run, weights, out, list(expect or []), no_plots,
                      tensorboard, workers, cluster, task_index, quiet, as_json)
    if workers is not None:
        raise typer.Exit(_launch_workers(request))
    if cluster is not None or task_index is not None:
        _join_cluster(request)
    people, _ = consoles(as_json)
    progress = EpochProgress(people, quiet)
    with handled(as_json), _failed_runs_stay_useful(people, not no_plots, as_json):
        try:
            run = _train(request, progress)
        finally:  # an error before the first epoch (a damaged image, Ctrl-C) ends the loading note too
            progress.finish()
        if not no_plots:
            _draw_plots_of_a_finished_run(run)
    _show_run(people, request, run, progress.trained)


def _launch_workers(request: Request) -> int:
    """--workers N: N worker processes on this machine, each training a share of every batch."""
    from nnlearn.training.distribute import launch_local, plan_local

    with handled(request.as_json):
        if request.cluster is not None or request.task_index is not None:
            raise NnlearnError("--workers starts every worker on this machine; --cluster and --task-index "
                               "are for workers on several machines.", path="--workers",
                               hint="give either --workers N, or --cluster and --task-index on each machine.")
        launch = plan_local(request.config, request.resume, request.from_run, request.overrides, request.out,
                            request.workers)
    launch.arguments += ([f"--expect={text}" for text in request.expect] + (["--weights"] if request.weights else [])
                         + (["--tensorboard"] if request.tensorboard else []))
    launch.chief_arguments = ((["--no-plots"] if request.no_plots else []) + (["--quiet"] if request.quiet else [])
                              + (["--json"] if request.as_json else []))
    return launch_local(launch, consoles(request.as_json)[1])


def _join_cluster(request: Request) -> None:
    """--cluster and --task-index: this machine's place among workers on several machines (TF_CONFIG)."""
    from nnlearn.training.distribute import cluster_from_option

    with handled(request.as_json):
        if request.cluster is None:
            raise NnlearnError("--task-index goes with --cluster, the addresses of every worker.",
                               path="--task-index", hint="e.g. --cluster host1:12345,host2:12345 --task-index 0")
        os.environ["TF_CONFIG"] = cluster_from_option(request.cluster, request.task_index)
    if request.resume is None:
        request.overrides.append("fit.distribute=multi_worker")


def _train(request: Request, progress):
    """The run: an interrupted one continued, a new one from a saved run, or a new one from a config."""
    from nnlearn.training.train import resume, train, train_from

    settings = dict(progress=progress, expect=request.expect)
    tensorboard = ["fit.tensorboard=true"] if request.tensorboard else []
    if request.resume is not None:
        _check_resume_alone(request)
        return resume(RunDir.open(request.resume), **settings)
    if request.from_run is not None:
        if request.config is not None:
            raise NnlearnError("--from starts from a saved run's config; give either CONFIG or --from, not both.",
                               hint=f"nnlearn train --from {request.from_run} --set KEY=VALUE")
        return train_from(RunDir.open(request.from_run), request.overrides + tensorboard, out=request.out,
                          weights=request.weights, **settings)
    if request.weights:
        raise NnlearnError("--weights goes with --from RUN_DIR: the run whose weights to start from.",
                           hint="e.g. nnlearn train --from RUN_DIR --weights --set fit.epochs=50")
    if request.config is None:
        raise NnlearnError("give a CONFIG to train, --from RUN_DIR, or --resume RUN_DIR.",
                           hint="e.g. nnlearn train configs/softmax_digits.yaml")
    with _every_problem_as_validate_finds_them(request.config, request.overrides + tensorboard):
        return train(request.config, request.overrides + tensorboard, out=request.out, **settings)


@contextmanager
def _every_problem_as_validate_finds_them(config: Path, overrides: list[str]):
    """A config the schema refuses: every problem validate finds, in its order (the data can show that the
    loss, not the metric the schema named, is the mistake)."""
    from nnlearn.errors import ConfigError
    from nnlearn.workflows.validate import validate_file

    try:
        yield
    except ConfigError as error:
        problems = validate_file(config, overrides).errors
        if not problems:
            raise
        raise ConfigError(problems, source=error.source) from None


def _check_resume_alone(request: Request) -> None:
    """--resume continues a run exactly: nothing may change it."""
    if request.config is None and not request.overrides and request.out is None and request.from_run is None:
        return
    resume = request.resume
    new_run = f"start a new run from it with other settings: nnlearn train --from {resume} --set KEY=VALUE"
    hint = (f"continue it: nnlearn train --resume {resume}; or {new_run}" if not RunDir(resume).is_finished() else
            f"{resume} has finished, so there is nothing to continue. Train it longer from its last weights: "
            f"nnlearn train --from {resume} --weights --set fit.epochs=N; or {new_run}")
    raise NnlearnError("--resume continues a run exactly, with its saved config; it takes no CONFIG, --from, "
                       "--set or --out.", hint=hint)


def _show_run(people: Console, request: Request, run, session: int) -> None:
    """What the run measured, where it is saved, its expectations and its diagnosis; exit 1 if one failed."""
    from nnlearn.insight.diagnose import diagnose_run

    if people.is_terminal and run.history:
        people.print(loss_line(people, run.history))
    title = (f"{session} epochs in {run.seconds:.1f} s" if session == run.epochs else
             f"{session} more epochs in {run.seconds:.1f} s ({run.epochs} in all)")
    if run.early_stopping:
        print_wrapped(people, "", early_stopping_line(run.early_stopping))
    people.print(metrics_table(run.metrics, run.baseline, title=title))
    saved = RunDir(run.run_dir)
    if saved.tensorboard_dir.is_dir():
        people.print(f"TensorBoard logs: tensorboard --logdir {escape_markup(str(saved.tensorboard_dir))}",
                     soft_wrap=True)  # one line, so the command can be copied whole
    if not request.no_plots:
        print_wrapped(people, "", f"Plots in {saved.plots_dir}; one HTML page of it all: `nnlearn report {saved}`.")
    print_wrapped(people, "", f"Saved the run in {saved}; evaluate it again with `nnlearn eval {saved}`.")
    if run.expectations:
        people.print(expectations_table(run.expectations))
    with handled(request.as_json):
        verdicts = diagnose_run(saved, run.prepared)
    print_diagnosis(people, verdicts)
    emit(request.as_json, {**run.to_json(), "diagnosis": [verdict.to_json() for verdict in verdicts]})
    if not run.passed:
        raise typer.Exit(1)


def _draw_plots_of_a_finished_run(run) -> None:
    """The run is saved before its pictures are drawn: a Ctrl-C now stops the drawing, not the run."""
    from nnlearn.pictures.plots import draw_plots

    try:
        draw_plots(RunDir(run.run_dir), run.prepared)
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

            print_error(consoles(as_json)[1], failure)
            failed = RunDir(failure.run_dir)
            if plots and (failed.history() or failed.batch_losses()):  # good epochs, or the batches up to the NaN
                from nnlearn.pictures.plots import draw_plots

                upto = "the last good epoch" if failed.history() else "the batch whose loss became NaN"
                for drawn in draw_plots(failed):
                    people.print(f"The learning curves up to {upto}: {escape_markup(str(drawn))}")
            print_diagnosis(people, diagnose_run(failed))
            emit(as_json, error_json(failure))
            raise typer.Exit(1) from None
        raise
