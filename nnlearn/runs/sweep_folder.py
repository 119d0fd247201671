"""A sweep folder: one run directory per combination of grid values and seed, plus

- sweep.json: the grid, the seeds and each run's status, so `nnlearn sweep --resume` skips finished runs
- base_config.yaml: the config every run starts from (with the --set overrides applied)
- sweep.csv: one row per run with its train, validation and test metrics
- sweep_curves.png and, for one numeric key, sweep_metric.png (drawn by nnlearn.pictures.sweep_plots)
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

from nnlearn.config.loading import parse_path
from nnlearn.errors import RunError
from nnlearn.runs import lock
from nnlearn.runs.rundir import SPLITS, RunDir, read_json, write_atomic, write_json

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


def is_sweep_dir(path: Path) -> bool:
    """Whether path is a folder made by `nnlearn sweep` (it holds sweep.json)."""
    return (Path(path) / SWEEP_FILE).is_file()


def write_sweep_page(sweep_dir: Path, name: str, text: str) -> Path:
    """A page made from the sweep's own files (report.html), written into its folder."""
    lock.take(sweep_dir)
    write_atomic(Path(sweep_dir) / name, text)
    return Path(sweep_dir) / name


def open_sweep(sweep_dir: Path) -> tuple[Sweep, Path | None]:
    """A sweep folder made by `nnlearn sweep`, with each run's status read from its own run.json; its lock
    is taken first (nnlearn.runs.lock): one process at a time continues a sweep."""
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise RunError(f"{sweep_dir} has no {SWEEP_FILE}; it is not a sweep folder.",
                       hint="give the folder that `nnlearn sweep` printed (runs/sweep-<name>-<time>).")
    lock.take(sweep_dir)
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


def save_results(sweep: Sweep) -> None:
    """sweep.json (each run's status) and sweep.csv (each run's metrics), rewritten after every run."""
    lock.take(sweep.sweep_dir)
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
