"""`nnlearn sweep`: train every combination of a grid of config values in one process, then compare
them by their validation metric (never the test split, which stays an honest final measurement).

A sweep folder holds one normal run directory per combination and seed, plus:

- sweep.json: the grid, the seeds and each run's status, so `nnlearn sweep --resume` skips finished runs
- base_config.yaml: the config every run starts from (with the --set overrides applied)
- sweep.csv: one row per run with its train, validation and test metrics
- sweep_curves.png and, for one numeric key, sweep_metric.png
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nnlearn.config import Config
from nnlearn.config_file import load_config, parse_path
from nnlearn.errors import ConfigError, NnlearnError, Problem, RunError, RunFailed
from nnlearn.rundir import SPLITS, RunDir, create_run_dir, read_json, write_atomic, write_json

SWEEP_FILE = "sweep.json"
BASE_CONFIG_FILE = "base_config.yaml"
CSV_FILE = "sweep.csv"
CURVES_PLOT = "sweep_curves.png"
METRIC_PLOT = "sweep_metric.png"


@dataclass
class Axis:
    """One --grid KEY=V1,V2,...: a config key and the values (as written) to try."""

    key: str
    values: list[str]


@dataclass
class Member:
    """One run of the sweep: a value for every axis, and a seed."""

    name: str
    values: dict[str, str]
    seed: int
    status: str = "pending"
    metrics: dict = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0

    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.values.items()] + [f"seed={self.seed}"]

    def to_json(self, sweep_dir: Path) -> dict:
        return {"name": self.name, "run_dir": str(sweep_dir / self.name), "values": self.values,
                "seed": self.seed, "status": self.status, "epochs": self.epochs,
                "seconds": round(self.seconds, 3), "metrics": self.metrics}


@dataclass
class Group:
    """The runs of one combination of values (one per seed), summarised by the key validation metric."""

    values: dict[str, str]
    members: list[Member]
    mean: float | None
    std: float | None
    train_mean: float | None
    test_mean: float | None

    def to_json(self) -> dict:
        return {"values": self.values, "runs": [member.name for member in self.members],
                "finished": sum(member.status == "finished" for member in self.members),
                "validation_mean": self.mean, "validation_std": self.std,
                "train_mean": self.train_mean, "test_mean": self.test_mean}


@dataclass
class Sweep:
    sweep_dir: Path
    axes: list[Axis]
    seeds: list[int]
    members: list[Member]
    metric: str  # the key metric, measured on the validation split
    higher_is_better: bool
    skipped: list[str] = field(default_factory=list)  # finished before this call: resumed past
    plots: list[Path] = field(default_factory=list)

    def groups(self) -> list[Group]:
        """One group per combination, best validation mean first (unmeasured ones last)."""
        combos: dict[tuple, list[Member]] = {}
        for member in self.members:
            combos.setdefault(tuple(member.values.items()), []).append(member)
        groups = [Group(dict(combo), members, *_summary(members, self.metric))
                  for combo, members in combos.items()]
        sign = -1 if self.higher_is_better else 1
        return sorted(groups, key=lambda group: (group.mean is None or not math.isfinite(group.mean),
                                                 sign * group.mean if group.mean is not None else 0))

    def best(self) -> Group | None:
        groups = self.groups()
        return groups[0] if groups and groups[0].mean is not None else None

    def to_json(self) -> dict:
        best = self.best()
        return {"sweep_dir": str(self.sweep_dir), "grid": {axis.key: axis.values for axis in self.axes},
                "seeds": self.seeds, "metric": self.metric, "split": "validation",
                "higher_is_better": self.higher_is_better,
                "groups": [group.to_json() for group in self.groups()],
                "best": best.to_json() if best else None,
                "runs": [member.to_json(self.sweep_dir) for member in self.members],
                "skipped": self.skipped, "csv": str(self.sweep_dir / CSV_FILE),
                "plots": [str(path) for path in self.plots]}


def _summary(members: list[Member], metric: str) -> tuple:
    def values(split: str) -> list[float]:
        return [float(member.metrics[split][metric]) for member in members
                if member.status == "finished" and (member.metrics.get(split) or {}).get(metric) is not None]

    validation = values("validation")
    mean = float(np.mean(validation)) if validation else None
    std = float(np.std(validation)) if validation else None  # NumPy's std: over the seeds, ddof 0
    train, test = values("train"), values("test")
    return mean, std, float(np.mean(train)) if train else None, float(np.mean(test)) if test else None


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
                problem.message = problem.message.replace("(from --set)", f"(from --grid {label})")
                if str(problem) not in {str(known) for known in problems}:
                    problems.append(problem)

    for axis in axes:
        for value in axis.values:
            collect([f"{axis.key}={value}"], f"{axis.key}={value}")
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


def key_metric(config: Config) -> tuple[str, bool]:
    """The metric a sweep ranks by, and whether higher is better: accuracy, else r2, else the loss."""
    metrics = config.compile.resolved_metrics()
    for name in ("accuracy", "r2"):
        if name in metrics:
            return name, True
    return "loss", False


def _folder_name(index: int, values: dict[str, str], seed: int, with_seed: bool) -> str:
    parts = [f"{index:02d}"] + [f"{parse_path(key)[-1]}={value}" for key, value in values.items()]
    if with_seed:
        parts.append(f"seed{seed}")
    return re.sub(r"[^A-Za-z0-9._=-]", "_", "-".join(parts))[:120]


def plan(axes: list[Axis], seeds: list[int]) -> list[Member]:
    """Every combination of the axes' values, each with every seed, in a stable order."""
    members = []
    for combination in itertools.product(*[axis.values for axis in axes]):
        values = {axis.key: value for axis, value in zip(axes, combination)}
        for seed in seeds:
            members.append(Member(_folder_name(len(members) + 1, values, seed, len(seeds) > 1), values, seed))
    return members


def start_sweep(config_path: Path, overrides: list[str], grids: list[str], seeds: int,
                out: Path | None = None) -> tuple[Sweep, Path | None]:
    """Check the grid, create the sweep folder and its sweep.json; nothing trains yet."""
    if seeds < 1:
        raise NnlearnError(f"--seeds must be 1 or more (received {seeds}).", path="--seeds",
                           hint="e.g. --seeds 3 repeats every combination with 3 seeds.")
    axes = parse_grid(grids)
    base = check_grid(config_path, list(overrides), axes)
    seed_list = [base.seed + offset for offset in range(seeds)]
    members = plan(axes, seed_list)
    metric, higher = key_metric(base)
    config_dir = config_path.parent
    record = {"config": str(config_path), "config_dir": str(config_dir), "overrides": list(overrides),
              "grid": {axis.key: axis.values for axis in axes}, "seeds": seed_list, "metric": metric,
              "higher_is_better": higher, "runs": [member.to_json(Path()) for member in members]}
    header = (f"# The config every run of this sweep starts from: {config_path} with "
              f"{' '.join('--set ' + item for item in overrides) or 'no --set overrides'}.\n")
    files = {SWEEP_FILE: _json_text(record),
             BASE_CONFIG_FILE: header + yaml.safe_dump(base.applying(), sort_keys=False,
                                                       allow_unicode=True)}
    sweep_dir = create_run_dir(f"sweep-{base.name}", out, files=files)
    return Sweep(sweep_dir, axes, seed_list, members, metric, higher), config_dir


def _json_text(value) -> str:
    from nnlearn.jsonout import json_text

    return json_text(value, indent=2) + "\n"


def is_sweep_dir(path: Path) -> bool:
    """Whether path is a folder made by `nnlearn sweep` (it holds sweep.json)."""
    return (Path(path) / SWEEP_FILE).is_file()


def write_sweep_page(sweep_dir: Path, name: str, text: str) -> Path:
    """A page made from the sweep's own files (report.html), written into its folder."""
    write_atomic(Path(sweep_dir) / name, text)
    return Path(sweep_dir) / name


def open_sweep(sweep_dir: Path) -> tuple[Sweep, Path | None]:
    """A sweep folder made by `nnlearn sweep`, with each run's status read from its own run.json."""
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise RunError(f"{sweep_dir} has no {SWEEP_FILE}; it is not a sweep folder.",
                       hint="give the folder that `nnlearn sweep` printed (runs/sweep-<name>-<time>).")
    record = read_json(sweep_dir, SWEEP_FILE)
    try:
        axes = [Axis(str(key), [str(value) for value in values]) for key, values in record["grid"].items()]
        seeds = [int(seed) for seed in record["seeds"]]
        metric, higher = str(record["metric"]), bool(record["higher_is_better"])
        config_dir = Path(record["config_dir"]) if record.get("config_dir") else None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RunError(f"{sweep_dir / SWEEP_FILE} is damaged ({error}).",
                       hint="start the sweep again as a new one.") from None
    members = plan(axes, seeds)
    for member in members:
        _read_member(sweep_dir, member)
    return Sweep(sweep_dir, axes, seeds, members, metric, higher), config_dir


def _read_member(sweep_dir: Path, member: Member) -> None:
    """Fill a member's status and metrics from its run directory, if it has one."""
    run_dir = RunDir(sweep_dir / member.name)
    if not run_dir.has_record():
        return
    try:
        status = run_dir.record().get("status", "unknown")
    except RunError:
        return
    member.status = {"starting": "interrupted", "running": "interrupted"}.get(status, status)
    if member.status == "finished":
        saved = run_dir.metrics()
        member.metrics = {split: saved.get(split) for split in SPLITS}
        member.epochs, member.seconds = int(saved.get("epochs", 0)), float(saved.get("seconds", 0.0))


def run_sweep(sweep: Sweep, config_dir: Path | None, on_run=None) -> Sweep:
    """Train every member not yet finished (or failed), one after another, in this process.

    on_run(position, total, member) is called after each run. A run whose loss becomes NaN is recorded
    as failed and the sweep goes on; Ctrl-C records what finished and raises Interrupted.
    """
    from nnlearn.errors import Interrupted
    from nnlearn.training import resume, train_config

    base_path = sweep.sweep_dir / BASE_CONFIG_FILE
    for position, member in enumerate(sweep.members, start=1):
        if member.status in ("finished", "failed"):
            sweep.skipped.append(member.name)
            continue
        run_dir = sweep.sweep_dir / member.name
        try:
            if run_dir.exists():
                run = resume(run_dir)  # interrupted earlier: continue from its last checkpoint
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


def save_results(sweep: Sweep) -> None:
    """sweep.json (each run's status) and sweep.csv (each run's metrics), rewritten after every run."""
    record = read_json(sweep.sweep_dir, SWEEP_FILE)
    record["runs"] = [member.to_json(sweep.sweep_dir) for member in sweep.members]
    write_json(sweep.sweep_dir / SWEEP_FILE, record)
    write_atomic(sweep.sweep_dir / CSV_FILE, sweep_csv(sweep))


def sweep_csv(sweep: Sweep) -> str:
    names = list(dict.fromkeys(f"{split}_{name}" for member in sweep.members for split in SPLITS
                               for name in (member.metrics.get(split) or {})))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", *[axis.key for axis in sweep.axes], "seed", "status", "epochs", "seconds", *names])
    for member in sweep.members:
        flat = {f"{split}_{name}": value for split in SPLITS
                for name, value in (member.metrics.get(split) or {}).items()}
        writer.writerow([member.name, *member.values.values(), member.seed, member.status, member.epochs,
                         round(member.seconds, 3),
                         *[repr(flat[name]) if isinstance(flat.get(name), float) else flat.get(name, "")
                           for name in names]])
    return buffer.getvalue()


def draw_sweep_plots(sweep: Sweep) -> list[Path]:
    """sweep_curves.png always (when a run finished); sweep_metric.png for a single numeric key."""
    finished = [member for member in sweep.members if member.status == "finished"]
    if not finished:
        return []
    plt = _pyplot()
    groups = sweep.groups()
    colours = plt.get_cmap("viridis" if len(groups) > 10 else "tab10")
    panels = ["loss"] + ([sweep.metric] if sweep.metric != "loss" else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for number, group in enumerate(groups):
        colour = colours(number / max(1, len(groups) - 1)) if len(groups) > 10 else colours(number)
        label = ", ".join(f"{parse_path(key)[-1]}={value}" for key, value in group.values.items())
        for seed_number, member in enumerate(m for m in group.members if m.status == "finished"):
            history = RunDir(sweep.sweep_dir / member.name).history()
            if not history:
                continue
            epochs = [row["epoch"] for row in history]
            for axis, name in zip(axes[0], panels):
                if f"val_{name}" in history[0]:
                    axis.plot(epochs, [row[f"val_{name}"] for row in history], color=colour,
                              label=label if seed_number == 0 else None)
                axis.plot(epochs, [row[name] for row in history], color=colour, linestyle=":", linewidth=1)
    for axis, name in zip(axes[0], panels):
        axis.set_xlabel("epoch")
        axis.set_title(f"{name}: validation (solid), training (dotted)")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle("One colour per value: learning curves of every run of the sweep", y=1.02)
    written = [_save(plt, figure, sweep.sweep_dir / CURVES_PLOT)]
    numeric = _numeric_axis(sweep)
    if numeric is not None:
        written.append(_metric_plot(plt, sweep, numeric, groups))
    return written


def _numeric_axis(sweep: Sweep) -> Axis | None:
    if len(sweep.axes) != 1:
        return None
    try:
        [float(value) for value in sweep.axes[0].values]
    except ValueError:
        return None
    return sweep.axes[0]


def _metric_plot(plt, sweep: Sweep, axis_spec: Axis, groups: list[Group]) -> Path:
    rows = sorted((float(group.values[axis_spec.key]), group) for group in groups if group.mean is not None)
    xs = [x for x, _ in rows]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    axis.errorbar(xs, [group.mean for _, group in rows], yerr=[group.std or 0 for _, group in rows],
                  marker="o", capsize=3, label=f"validation {sweep.metric}")
    axis.plot(xs, [group.train_mean for _, group in rows], marker=".", linestyle="--",
              label=f"training {sweep.metric}")
    positive = [x for x in xs if x > 0]
    if positive and (axis_spec.key.endswith("learning_rate") or max(positive) / min(positive) >= 100):
        if len(positive) == len(xs):
            axis.set_xscale("log")
        else:  # a 0 among the values (no regularization): logarithmic beyond the smallest positive one
            axis.set_xscale("symlog", linthresh=min(positive))
    best = sweep.best()
    if best is not None:
        axis.axvline(float(best.values[axis_spec.key]), color="tab:green", linestyle=":",
                     label="best by validation")
    axis.set_xlabel(axis_spec.key)
    axis.set_ylabel(sweep.metric)
    axis.set_title(f"{sweep.metric} against {parse_path(axis_spec.key)[-1]} (mean ± std over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(plt, figure, sweep.sweep_dir / METRIC_PLOT)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    write_atomic(path, buffer.getvalue())
    return path


def sweep_table(sweep: Sweep):
    """A rich table: one row per combination, best validation first."""
    from rich.markup import escape
    from rich.table import Table

    from nnlearn.display import format_number

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
