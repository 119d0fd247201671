"""`nnlearn sweep`: train every combination of a grid of config values in one process, then compare
them by their validation metric (never the test split, which stays an honest final measurement).

The sweep folder's layout is nnlearn.runs.sweep_folder's.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from nnlearn.config.loading import load_config, parse_path
from nnlearn.config.schema import Config, key_metric
from nnlearn.errors import ConfigError, Interrupted, NnlearnError, Problem, RunFailed
from nnlearn.jsonout import json_text
from nnlearn.runs import lock
from nnlearn.runs.rundir import RunDir, create_run_dir
from nnlearn.runs.sweep_folder import BASE_CONFIG_FILE, SWEEP_FILE, Axis, Sweep, plan, save_results
from nnlearn.training.train import resume, train_config  # TensorFlow is imported when the first run trains


def split_values(text: str) -> list[str]:
    """"1,2,[3, 3]" -> ["1", "2", "[3, 3]"]: commas inside brackets belong to the value."""
    values, depth, current = [], 0, ""
    for character in text:
        depth += character in "[{"
        depth -= character in "]}"
        if character == "," and depth == 0:
            values.append(current.strip())
            current = ""
        else:
            current += character
    values.append(current.strip())
    return values


def parse_grid(items: list[str]) -> list[Axis]:
    """Read each --grid KEY=V1,V2,...; raises ConfigError listing every malformed one."""
    problems, axes = [], []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        values = split_values(text) if sep else []
        if not sep or not key or not text.strip() or "" in values:
            problems.append(Problem(f"--grid {item}", "a grid must look like KEY=V1,V2,... with no empty value.",
                                    hint="e.g. --grid compile.optimizer.learning_rate=0.001,0.01,0.1"))
            continue
        try:
            parse_path(key)
        except ValueError:
            problems.append(Problem(f"--grid {item}", f"cannot read the key {key!r}.",
                                    hint="use dotted names with list indexes in brackets, e.g. "
                                         "model.layers[0].units."))
            continue
        if key == "seed":
            problems.append(Problem(f"--grid {item}", "the seed is not a grid key.",
                                    hint="use --seeds N to repeat every combination with N seeds."))
        elif key in (axis.key for axis in axes):
            problems.append(Problem(f"--grid {item}", f"{key} is given twice.",
                                    hint="list all its values in one --grid, separated by commas."))
        elif len(set(values)) != len(values):
            problems.append(Problem(f"--grid {item}", "a value is listed twice.", hint="list each value once."))
        else:
            axes.append(Axis(key, values))
    if not items:
        problems.append(Problem("--grid", "a sweep needs at least one --grid KEY=V1,V2,...",
                                hint="e.g. --grid compile.optimizer.learning_rate=0.001,0.01,0.1"))
    if problems:
        raise ConfigError(problems, source="--grid")
    return axes


def check_grid(config_path: Path, overrides: list[str], axes: list[Axis]) -> Config:
    """Validate every grid value, then every combination, with the schema and messages of --set.

    Raises one ConfigError listing every problem, before anything trains. Returns the base config.
    """
    base = load_config(config_path, overrides)
    problems: list[Problem] = []

    def collect(extra: list[str], label: str) -> None:
        try:
            load_config(config_path, overrides + extra)
        except ConfigError as error:
            for problem in error.problems:
                if problem.origin == "--set":  # this value came from the grid, given as a --set
                    problem.origin = f"--grid {label}"
                if str(problem) not in {str(known) for known in problems}:
                    problems.append(problem)

    for axis in axes:
        read: dict[str, str] = {}  # each value as the config reads it (0.1 and 1e-1 are one value)
        for value in axis.values:
            collect([f"{axis.key}={value}"], f"{axis.key}={value}")
            if not problems:
                same = _as_read(load_config(config_path, overrides + [f"{axis.key}={value}"]), axis.key)
                if same in read:
                    problems.append(Problem(f"--grid {axis.key}", f"{read[same]} and {value} are the same value "
                                            f"({same}) once read: the two runs would be the same run.",
                                            hint="list each value once."))
                read.setdefault(same, value)
    if not problems:  # each value fits alone; do they fit together (e.g. momentum with adam)?
        for combination in itertools.product(*[[(axis.key, value) for value in axis.values] for axis in axes]):
            collect([f"{key}={value}" for key, value in combination],
                    ", ".join(f"{key}={value}" for key, value in combination))
    if problems:
        raise ConfigError(problems, source="--grid")
    if base.data.validation_split == 0:
        raise NnlearnError("a sweep picks the best combination by the validation split, but "
                           "data.validation_split is 0 (picking by the test split would make its numbers "
                           "optimistic).", path="data.validation_split",
                           hint="set data.validation_split: 0.1, or --set data.validation_split=0.1.")
    return base


def _as_read(config: Config, key: str) -> str:
    """The value at a grid key once the schema has read it, as JSON (0.1 for "1e-1" and "0.1" alike)."""
    value = config.model_dump(mode="json")
    for part in parse_path(key):
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return ""
    return json_text(value)


MAX_SEEDS = 100  # --seeds: repeats of every combination
ASK_RUNS = 100  # more runs than this start only with --yes
MAX_RUNS = 10_000  # a sweep folder holds at most this many runs


def check_size(axes: list[Axis], seeds: int, yes: bool) -> int:
    """How many runs a sweep trains, counted before any is planned; refused past MAX_RUNS, and past
    ASK_RUNS without --yes (a typo in a grid, or --seeds 100000000, would otherwise start hours of work)."""
    if seeds < 1 or seeds > MAX_SEEDS:
        raise NnlearnError(f"--seeds must be 1 to {MAX_SEEDS} (received {seeds:,}).", path="--seeds",
                           hint="e.g. --seeds 3 repeats every combination with 3 seeds.")
    runs = seeds
    for axis in axes:
        runs *= len(axis.values)
    sizes = " x ".join([f"{len(axis.values)} values of {parse_path(axis.key)[-1]}" for axis in axes]
                       + ([f"{seeds} seeds"] if seeds > 1 else []))
    if runs > MAX_RUNS:
        raise NnlearnError(f"this sweep would train {runs:,} runs ({sizes}); a sweep trains at most {MAX_RUNS:,}.",
                           path="--grid", hint="try fewer values (a coarse grid first, then a finer one around "
                                               "the best), or fewer seeds.")
    if runs > ASK_RUNS and not yes:
        raise NnlearnError(f"this sweep would train {runs:,} runs ({sizes}), one after another.", path="--grid",
                           hint="add --yes to start them all, or try fewer values or seeds.")
    return runs


def start_sweep(config_path: Path, overrides: list[str], grids: list[str], seeds: int,
                out: Path | None = None, yes: bool = False) -> tuple[Sweep, Path | None]:
    """Check the grid and its size, create the sweep folder and its sweep.json; nothing trains yet."""
    axes = parse_grid(grids)
    check_size(axes, seeds, yes)
    base = check_grid(config_path, list(overrides), axes)
    seed_list = [base.seed + offset for offset in range(seeds)]
    members = plan(axes, seed_list)
    metric, higher = key_metric(base.compile.resolved_metrics())
    config_dir = config_path.parent
    record = {"config": str(config_path), "config_dir": str(config_dir), "overrides": list(overrides),
              "grid": {axis.key: axis.values for axis in axes}, "seeds": seed_list, "metric": metric,
              "higher_is_better": higher, "runs": [member.to_json(Path()) for member in members]}
    header = (f"# The config every run of this sweep starts from: {config_path} with "
              f"{' '.join('--set ' + item for item in overrides) or 'no --set overrides'}.\n")
    files = {SWEEP_FILE: json_text(record, indent=2) + "\n",
             BASE_CONFIG_FILE: header + yaml.safe_dump(base.applying(), sort_keys=False,
                                                       allow_unicode=True)}
    sweep_dir = create_run_dir(f"sweep-{base.name}", out, files=files)
    lock.take(sweep_dir)
    return Sweep(sweep_dir, axes, seed_list, members, metric, higher), config_dir


def run_sweep(sweep: Sweep, config_dir: Path | None, on_run=None) -> Sweep:
    """Train every member not yet finished (or failed), one after another, in this process.

    on_run(position, total, member) is called after each run. A run whose loss becomes NaN is recorded
    as failed and the sweep goes on; Ctrl-C records what finished and raises Interrupted.
    """
    base_path = sweep.sweep_dir / BASE_CONFIG_FILE
    for position, member in enumerate(sweep.members, start=1):
        if member.status in ("finished", "failed"):
            sweep.skipped.append(member.name)
            continue
        run_dir = sweep.sweep_dir / member.name
        try:
            with lock.held(new=True):  # each run's lock is let go when it ends, the sweep's kept
                if run_dir.exists():
                    run = resume(RunDir.open(run_dir))  # interrupted earlier: continue from its last checkpoint
                else:
                    run = train_config(load_config(base_path, member.overrides()), config_dir, out=run_dir)
            member.status, member.metrics = "finished", run.metrics
            member.epochs, member.seconds = run.epochs, run.seconds
        except RunFailed:
            member.status = "failed"  # e.g. a learning rate so large the loss became NaN: a result too
        except (Interrupted, KeyboardInterrupt):
            member.status = "interrupted"
            save_results(sweep)
            finished = sum(item.status == "finished" for item in sweep.members)
            raise Interrupted(f"interrupted during {member.name}; the {finished} finished runs are kept in "
                              f"{sweep.sweep_dir}.",
                              hint=f"continue with: nnlearn sweep --resume {sweep.sweep_dir}") from None
        save_results(sweep)
        if on_run is not None:
            on_run(position, len(sweep.members), member)
    return sweep
