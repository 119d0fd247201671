"""`nnlearn runs` and `nnlearn compare`: the lab notebook of saved runs, without TensorFlow."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from nnlearn.errors import RunError
from nnlearn.rundir import CONFIG_FILE, METRICS_FILE, RUN_FILE, check_run_dir


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

    def to_json(self) -> dict:
        return {"run_dir": str(self.run_dir), "name": self.name, "started": self.started,
                "epochs": self.epochs, "configured_epochs": self.configured_epochs,
                "metric": self.metric, "value": self.value, "status": self.status}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _config(run_dir: Path) -> dict:
    try:
        return yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summarize(run_dir: Path) -> RunSummary:
    status_file = _read(run_dir / RUN_FILE)
    config = _config(run_dir)
    status = status_file.get("status", "unknown")
    if status == "running" and not _alive(status_file.get("pid")):
        status = "interrupted"  # its process is gone: killed or crashed mid-run
    metrics = _read(run_dir / METRICS_FILE).get("test") or {}
    metric = next((name for name in ("accuracy", "r2") if name in metrics), "loss" if metrics else None)
    return RunSummary(run_dir, config.get("name", run_dir.name), status_file.get("started", ""),
                      status_file.get("epochs", 0), (config.get("fit") or {}).get("epochs"),
                      metric, metrics.get(metric) if metric else None, status)


def list_runs(root: Path) -> list[RunSummary]:
    """Every run directory under root, oldest first."""
    if not root.is_dir():
        raise RunError(f"there is no folder {root}.", hint="train something first, or give the folder "
                                                           "that holds your runs.")
    runs = [summarize(path) for path in root.iterdir() if (path / RUN_FILE).exists()]
    return sorted(runs, key=lambda run: (run.started, str(run.run_dir)))


def flatten(node, prefix: str = "") -> dict[str, object]:
    """{"model": {"layers": [{"units": 3}]}} -> {"model.layers[0].units": 3}."""
    if isinstance(node, dict):
        flat: dict[str, object] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        flat = {}
        for index, value in enumerate(node):
            flat.update(flatten(value, f"{prefix}[{index}]"))
        return flat
    return {prefix: node}


@dataclass
class Comparison:
    runs: list[Path]
    differences: dict[str, list]
    metrics: dict[str, dict[str, list]]  # split -> metric -> one value per run

    def to_json(self) -> dict:
        return {"runs": [str(run) for run in self.runs], "config_differences": self.differences,
                "metrics": self.metrics}


def compare(run_dirs: list[Path]) -> Comparison:
    """The config keys whose values differ between runs, and their metrics side by side."""
    for run_dir in run_dirs:
        check_run_dir(run_dir)
    flat = [flatten(_config(run_dir)) for run_dir in run_dirs]
    keys = list(dict.fromkeys(key for config in flat for key in config))
    differences = {key: [config.get(key) for config in flat] for key in keys
                   if len({json.dumps(config.get(key), sort_keys=True) for config in flat}) > 1}
    saved = [_read(run_dir / METRICS_FILE) for run_dir in run_dirs]
    metrics: dict[str, dict[str, list]] = {}
    for split in ("train", "validation", "test"):
        names = list(dict.fromkeys(name for entry in saved for name in (entry.get(split) or {})))
        if names:
            metrics[split] = {name: [(entry.get(split) or {}).get(name) for entry in saved] for name in names}
    return Comparison(list(run_dirs), differences, metrics)
