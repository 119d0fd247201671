"""`nnlearn runs` and `nnlearn compare`: the lab notebook of saved runs, without TensorFlow."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nnlearn.config.differences import differences
from nnlearn.config.schema import key_metric
from nnlearn.errors import RunError
from nnlearn.runs.rundir import SPLITS, RunDir


@dataclass
class RunSummary:
    run_dir: Path
    name: str
    started: str
    epochs: int
    configured_epochs: int | None
    metric: str | None
    value: float | None
    status: str
    early_stopping: dict | None = None  # run.json's record of a run that early stopping ended

    def to_json(self) -> dict:
        return {"run_dir": str(self.run_dir), "name": self.name, "started": self.started,
                "epochs": self.epochs, "configured_epochs": self.configured_epochs,
                "metric": self.metric, "value": self.value, "status": self.status,
                "early_stopping": self.early_stopping}


def process_alive(pid) -> bool:
    """Whether a process with this id is running (the owner of a run that says `running`)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process not yet reaped by its parent (a zombie) is not running
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def summarize(run: RunDir) -> RunSummary:
    """One run's line in `nnlearn runs`; a damaged or edited file shows as unknown, never a crash."""
    status_file, config = run.record(strict=False), run.config_mapping()
    status = _typed(status_file.get("status"), str, "unknown")
    if status in ("starting", "running") and not process_alive(status_file.get("pid")):
        # its process is gone: killed or crashed; `nnlearn train --resume` continues (or starts) it
        status = "never started" if status == "starting" else "interrupted"
    metrics = _typed(run.metrics(strict=False).get("test"), dict, {})
    metric = key_metric(metrics)[0] if metrics else None
    value = _typed(metrics.get(metric), float, None) if metric else None
    fit = _typed(config.get("fit"), dict, {})
    return RunSummary(run.path, _typed(config.get("name"), str, run.name),
                      _typed(status_file.get("started"), str, ""), _typed(status_file.get("epochs"), int, 0),
                      _typed(fit.get("epochs"), int, None), metric, value, status,
                      _typed(status_file.get("early_stopping"), dict, None))


def _typed(value, kind: type, default):
    """value if it is of kind (an int counts as a float; a bool as neither), else default."""
    if isinstance(value, bool) and kind is not bool:
        return default
    if kind is float and isinstance(value, int):
        return float(value)
    return value if isinstance(value, kind) else default


def list_runs(root: Path) -> list[RunSummary]:
    """Every run directory under root, oldest first."""
    if not root.is_dir():
        raise RunError(f"there is no folder {root}.", hint="train something first, or give the folder "
                                                           "that holds your runs.")
    # hidden folders are run folders still being set up (or left by a kill while being set up)
    found = (RunDir(path) for path in root.iterdir() if not path.name.startswith("."))
    runs = [summarize(run) for run in found if run.has_record()]
    return sorted(runs, key=lambda run: (run.started, str(run.run_dir)))


@dataclass
class Comparison:
    runs: list[Path]
    differences: dict[str, list]
    metrics: dict[str, dict[str, list]]  # split -> metric -> one value per run

    def to_json(self) -> dict:
        return {"runs": [str(run) for run in self.runs], "config_differences": self.differences,
                "metrics": self.metrics}


def compare(runs: list[RunDir]) -> Comparison:
    """The config keys whose values differ between runs, and their metrics side by side."""
    differing = differences([run.config_mapping() for run in runs])
    saved = [{split: _typed(entry.get(split), dict, {}) for split in SPLITS}
             for entry in (run.metrics(strict=False) for run in runs)]
    metrics: dict[str, dict[str, list]] = {}
    for split in SPLITS:
        names = list(dict.fromkeys(name for entry in saved for name in (entry.get(split) or {})))
        if names:
            metrics[split] = {name: [(entry.get(split) or {}).get(name) for entry in saved] for name in names}
    return Comparison([run.path for run in runs], differing, metrics)
