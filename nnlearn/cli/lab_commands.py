"""The lab around single runs: list and compare runs, smoke-test configs, lessons, watch, sweep, lr-find."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from nnlearn.cli.common import (
    JsonOption,
    QuietOption,
    SetOption,
    consoles,
    emit,
    handled,
    refuse_existing,
    write_new,
)
from nnlearn.cli.display import first_line, loss_line, print_error, print_table, print_wrapped
from nnlearn.errors import NnlearnError
from nnlearn.runs.rundir import RunDir


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

    people, _ = consoles(as_json)
    with handled(as_json):
        configs = find_configs(paths or [Path("configs")])
    results = []
    with first_line(people, f"Smoke-testing {len(configs)} config{'s' if len(configs) != 1 else ''}: a few steps "
                            "each must lower the loss") as note:
        for path in configs:
            with handled(as_json):
                result = smoke_config(path)
            note.stop()
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
    emit(as_json, {"passed": code == 0, "exit_code": code,
                         "results": [result.to_json() for result in results]})
    raise typer.Exit(code)


def runs(folder: Annotated[Path, typer.Argument(help="The folder holding run directories.")] = Path("runs"),
         as_json: JsonOption = False):
    """List saved runs: name, start, epochs, key test metric, status."""
    from nnlearn.cli.tables import runs_table
    from nnlearn.runs.catalog import list_runs

    people, _ = consoles(as_json)
    with handled(as_json):
        summaries = list_runs(folder)
    print_table(people, runs_table(folder, summaries))
    emit(as_json, {"runs": [run.to_json() for run in summaries]})


def compare(run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
            html_file: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained "
                                                              "HTML report of the runs side by side.")] = None,
            as_json: JsonOption = False):
    """Show how runs' configs differ and their metrics side by side."""
    from nnlearn.cli.tables import comparison_legend, comparison_tables
    from nnlearn.errors import NnlearnError
    from nnlearn.runs.catalog import compare as compare_runs

    people, _ = consoles(as_json)
    with handled(as_json):
        if len(run_dirs) < 2:
            raise NnlearnError(f"compare needs two or more runs to set side by side; it was given one "
                               f"({run_dirs[0]}).", hint=f"e.g. nnlearn compare {run_dirs[0]} OTHER_RUN_DIR; "
                                                         "`nnlearn runs` lists your runs.")
        refuse_existing(html_file)
        runs = [RunDir.open(path) for path in run_dirs]
        result = compare_runs(runs)
    for line in comparison_legend(run_dirs):
        people.print(line, soft_wrap=True)
    for table in comparison_tables(run_dirs, result):
        print_table(people, table)
    if html_file is not None:
        with handled(as_json):
            from nnlearn.pictures.report import comparison_report

            write_new(html_file, comparison_report(runs))
        people.print(f"Wrote {escape_markup(str(html_file))}.")
    emit(as_json, result.to_json())


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

    people, _ = consoles(as_json)
    if name is None:
        for number, item in enumerate(LESSONS, start=1):
            people.print(f"{number:>2}. [bold]{item.name}[/]: {escape(item.title)}")
        people.print("Run one with: nnlearn lesson NAME")
        emit(as_json, {"lessons": [{"name": item.name, "title": item.title} for item in LESSONS]})
        return
    with handled(as_json), _lesson_progress(people) as progress:
        result = run_lesson(name, quick, progress)
    people.print(Panel(escape(result.explanation), title=f"[bold]{escape(result.title)}[/]"))
    people.print(lesson_table(result))
    emit(as_json, result.to_json())


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


def watch(config: Annotated[Path, typer.Argument(help="The YAML config to train, and retrain on every save.")],
          overrides: SetOption = None,
          max_runs: Annotated[Optional[int], typer.Option("--max-runs", hidden=True,
                                                          help="Stop after this many completed runs.")] = None,
          quiet: QuietOption = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per completed run, one "
                                                "per line.")] = False,
          serve: Annotated[bool, typer.Option("--serve", help="Also serve a live page of the training (curves, "
                                              "the model's picture, the verdict) where the config can be edited; "
                                              "its address, with a token, is printed.")] = False,
          port: Annotated[Optional[int], typer.Option("--port", metavar="N", min=0, max=65535,
                                                      help="With --serve: the port to listen on (default 8765; "
                                                           "0: any free one).")] = None,
          host: Annotated[Optional[str], typer.Option("--host", metavar="H",
                                                      help="With --serve: the address to listen on (default "
                                                           "127.0.0.1, this machine only).")] = None,
          no_browser: Annotated[bool, typer.Option("--no-browser", help="With --serve: do not open a browser "
                                                   "on the page.")] = False):
    """Train CONFIG, then retrain it every time the file is saved, with TensorFlow kept loaded.

    Each run is a normal run directory; its test metrics are shown beside the previous run's, with
    what changed in the config and the loss per epoch. The config's warnings come before each run
    (--quiet hides them). An invalid edit is reported and watching goes on. Ctrl-C while waiting exits
    0; during a run it stops that run like `nnlearn train` (exit 130). With --serve, Ctrl-C stops the
    page and the watcher (exit 0), a run in progress kept as `nnlearn train` keeps one.
    """
    from nnlearn.workflows.watch import watch as watch_config

    people, errors = consoles(as_json)
    shown = _watch_shown(config, people, errors, as_json, quiet)
    with handled(as_json):
        if serve:
            from nnlearn.cli.serve import ServeOptions, serve_watch

            options = ServeOptions(host or ServeOptions.host, ServeOptions.port if port is None else port,
                                   open_browser=not no_browser)
            serve_watch(config, overrides or [], options, shown, max_runs)
            return
        if port is not None or host is not None or no_browser:
            raise NnlearnError("--port, --host and --no-browser go with --serve, the live page.", path="--serve",
                               hint=f"nnlearn watch {config} --serve")
        try:
            watch_config(config, overrides or [], on_run=shown.on_run, on_error=shown.on_error,
                         on_changes=shown.on_changes, progress=shown.progress, max_runs=max_runs)
        except KeyboardInterrupt:
            errors.print("stopped watching")


def _watch_shown(config: Path, people: Console, errors: Console, as_json: bool, quiet: bool):
    """What the terminal shows while watching: what each save changed, each run (or each error)."""
    from nnlearn.cli.display import EpochProgress, early_stopping_line, print_diagnosis, watch_table
    from nnlearn.cli.serve import Shown
    from nnlearn.cli.tables import as_yaml

    shown_config = escape_markup(str(config))

    def show_changes(changes) -> None:  # before the retraining starts: what the save changed
        for key, before, after in changes:
            people.print(f"changed [bold]{escape_markup(key)}[/]: {escape_markup(as_yaml(before))} → "
                         f"{escape_markup(as_yaml(after))}")
        if not changes:
            people.print("no config value changed; training again.")

    def show_run(retrained) -> None:
        run = retrained.run
        if run.history:
            people.print(loss_line(people, run.history))
        if run.early_stopping:
            print_wrapped(people, "", early_stopping_line(run.early_stopping))
        people.print(watch_table(retrained))
        people.print(f"{run.epochs} epochs in {run.seconds:.1f} s; saved in [bold]{escape_markup(str(run.run_dir))}[/]")
        print_diagnosis(people, retrained.diagnosis)  # the verdict train would print
        people.print(f"Watching {shown_config}: save it to train again; Ctrl-C to stop.")
        emit(as_json, retrained.to_json())  # one line per run, flushed: a script reads it at once

    def show_error(error) -> None:
        print_error(errors, error)
        errors.print(f"Still watching {shown_config}: fix it and save again.")

    return Shown(show_run, show_error, show_changes, EpochProgress(people, quiet=quiet), people, errors)


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
          yes: Annotated[bool, typer.Option("--yes", help="Start a sweep of more than 100 runs (it says how many "
                                                          "without it).")] = False,
          as_json: JsonOption = False):
    """Train every combination of the --grid values as normal runs in one sweep folder, in one process,
    and rank them by the validation metric (never the test split).

    Writes SWEEP_DIR/sweep.csv, sweep_curves.png (one colour per value) and, for one numeric key,
    sweep_metric.png. Ctrl-C keeps the finished runs (exit 130); `nnlearn sweep --resume SWEEP_DIR`
    continues. `nnlearn report SWEEP_DIR` makes one HTML page of it.
    """
    from nnlearn.pictures.sweep_plots import draw_sweep_plots
    from nnlearn.workflows.sweep import run_sweep

    people, _ = consoles(as_json)
    with handled(as_json):
        result, config_dir = _sweep_to_run(config, list(grids or []), list(overrides or []), seeds, resume, out,
                                           yes)
        people.print(f"Sweep → [bold]{escape_markup(str(result.sweep_dir))}[/]: {len(result.members)} runs, "
                     f"ranked by validation {result.metric}")
        run_sweep(result, config_dir, on_run=lambda *done: _show_member(people, result, *done))
        if not no_plots:
            result.plots = draw_sweep_plots(result)
    _show_sweep(people, result)
    emit(as_json, result.to_json())
    if not any(member.status == "finished" for member in result.members):
        raise typer.Exit(1)


def _sweep_to_run(config: Path | None, grids: list[str], overrides: list[str], seeds: int, resume: Path | None,
                  out: Path | None, yes: bool):
    """(the sweep, the folder its config's relative paths start from): a new one, or one to continue."""
    from nnlearn.errors import NnlearnError
    from nnlearn.runs.sweep_folder import open_sweep
    from nnlearn.workflows.sweep import start_sweep

    if resume is not None:
        if config is not None or grids or overrides or out is not None or seeds != 1:
            raise NnlearnError("--resume continues a sweep with its saved config and grid; it takes no "
                               "CONFIG, --grid, --set, --seeds or --out.", hint=f"nnlearn sweep --resume {resume}")
        return open_sweep(resume)
    if config is None:
        raise NnlearnError("give a CONFIG to sweep, or --resume SWEEP_DIR.",
                           hint="e.g. nnlearn sweep configs/iris_softmax.yaml "
                                "--grid compile.optimizer.learning_rate=0.001,0.01,0.1")
    return start_sweep(config, overrides, grids, seeds, out, yes)


def _show_member(people: Console, sweep, position: int, total: int, member) -> None:
    """One line as each run of the sweep ends: its values and its validation metric."""
    from nnlearn.cli.display import format_number

    shown = " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in member.values.items())
    seed = f" seed {member.seed}" if len(sweep.seeds) > 1 else ""
    validation = (member.metrics.get("validation") or {}).get(sweep.metric)
    measured = (f"validation {sweep.metric} {format_number(validation)} ({member.seconds:.1f} s)"
                if member.status == "finished" else f"[red]{member.status}[/]")
    people.print(f"[{position}/{total}] {escape_markup(shown)}{seed} → {measured}")


def _show_sweep(people: Console, sweep) -> None:
    """The ranking, the best values (chosen by validation, never the test split) and where it all is."""
    from nnlearn.cli.tables import sweep_table

    if sweep.skipped:
        people.print(f"Skipped {len(sweep.skipped)} runs that had already ended.")
    people.print(sweep_table(sweep))
    best = sweep.best()
    if best is not None:
        chosen = " ".join(f"--set {key}={value}" for key, value in best.values.items())
        print_wrapped(people, "", f"Best by validation {sweep.metric} (the test split never chose anything; it "
                                  f"stays an honest final measurement): `{chosen}`")
    print_wrapped(people, "", f"Wrote {sweep.sweep_dir / 'sweep.csv'}; one HTML page of it all: "
                              f"`nnlearn report {sweep.sweep_dir}`.")


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

    people, _ = consoles(as_json)

    def step_done(step, rate, loss):
        if step % 10 == 0:
            people.print(f"step {step:>3}/{STEPS}  learning rate {rate:.2g}  loss {format_number(loss)}")

    with handled(as_json):
        loaded = load_config(config, overrides or [])
        with first_line(people, f"The learning-rate range test of {escape(str(config))}'s model"):
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
    emit(as_json, result.to_json())
