"""Step 3: minimise the cost. Builds, compiles and fits the model, evaluates it, saves the run."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nnlearn import __version__
from nnlearn.baselines import baseline_metrics
from nnlearn.config import Config
from nnlearn.config_file import load_config
from nnlearn.errors import RunFailed
from nnlearn.gates import GateResult, check_gates, gates_for
from nnlearn.prepare import Prepared, prepare
from nnlearn.rundir import (CONFIG_FILE, HISTORY_FILE, METRICS_FILE, MODEL_FILE, PREPROCESSING_FILE,
                            RUN_FILE, create_run_dir, write_atomic, write_json, write_yaml)

SPLITS = ("train", "validation", "test")


@dataclass
class Run:
    """A finished run: where it was saved and what it measured."""

    run_dir: Path
    epochs: int
    seconds: float
    metrics: dict[str, dict[str, float] | None]
    baseline: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every metric gate (`expect`) is met."""
        return all(result.passed for result in self.gates)

    def to_json(self) -> dict:
        return {"run_dir": str(self.run_dir), "epochs": self.epochs, "seconds": round(self.seconds, 3),
                "metrics": self.metrics, "baseline": {"test": self.baseline},
                "expectations": [result.to_json() for result in self.gates], "passed": self.passed}


class Silent:
    """The default progress reporter: says nothing."""

    def start(self, epochs: int, run_dir: Path) -> None: ...

    def epoch(self, number: int, logs: dict) -> None: ...

    def finish(self) -> None: ...


def train(config_path: str | Path, overrides: list[str] | tuple = (), out: str | Path | None = None,
          progress=None, expect: list[str] | tuple = ()) -> Run:
    """Train the config at config_path (with `KEY=VALUE` overrides) and save a new run directory.

    expect adds metric gates such as "accuracy>=0.95" to the config's own; see Run.passed.
    """
    config = load_config(config_path, overrides)
    return train_config(config, Path(config_path).parent, out=out, progress=progress, expect=expect)


def train_config(config: Config, config_dir: Path | None = None, out: str | Path | None = None,
                 progress=None, expect: list[str] | tuple = ()) -> Run:
    """Train an already validated config. Raises RunFailed when the loss becomes NaN or infinite."""
    progress = progress or Silent()
    gates = gates_for(config, expect)
    prepared = prepare(config, config_dir)
    run_dir = create_run_dir(config.name, out)
    from nnlearn import model as tf_model  # TensorFlow is imported here, only when training
    from nnlearn.callbacks import EpochReporter, StopOnNaN

    started = datetime.now(timezone.utc)
    versions = {"nnlearn": __version__, **tf_model.versions()}
    _save_inputs(run_dir, prepared, versions, started)

    model = tf_model.build_model(config, prepared.input_shape)
    tf_model.compile_model(model, config)
    train_batches = tf_model.training_batches(prepared.x("train"), prepared.y("train"), config)
    validation = None
    if prepared.splits.validation is not None:
        validation = tf_model.evaluation_batches(prepared.x("validation"), prepared.y("validation"))
    nan_guard = StopOnNaN()
    progress.start(config.fit.epochs, run_dir)
    clock = time.perf_counter()
    try:
        history = model.fit(train_batches, validation_data=validation, epochs=config.fit.epochs,
                            shuffle=False, verbose=0, callbacks=[EpochReporter(progress), nan_guard])
    finally:
        progress.finish()
    seconds = time.perf_counter() - clock
    rows = _history_rows(history.history)
    write_atomic(run_dir / HISTORY_FILE, _history_csv(rows))
    if nan_guard.failed_at is not None:
        epoch, batch = nan_guard.failed_at
        _save_status(run_dir, "failed", started, versions, epochs=len(rows))
        raise RunFailed(f"the loss became NaN or infinite at epoch {epoch}, batch {batch}; training "
                        f"stopped. The run is in {run_dir}.",
                        hint=f"lower compile.optimizer.learning_rate (now "
                             f"{config.compile.optimizer.learning_rate}), e.g. "
                             f"--set compile.optimizer.learning_rate="
                             f"{config.compile.optimizer.learning_rate / 10:g}.")
    _save_model(model, run_dir / MODEL_FILE)
    metrics = {name: measure(model, prepared, name) for name in SPLITS}
    baseline = baseline_metrics(prepared)
    results = check_gates(gates, metrics)
    write_json(run_dir / METRICS_FILE, {**metrics, "baseline": {"test": baseline},
                                        "expectations": [result.to_json() for result in results],
                                        "epochs": len(rows), "seconds": round(seconds, 3)})
    _save_status(run_dir, "finished", started, versions, epochs=len(rows))
    return Run(run_dir, len(rows), seconds, metrics, baseline, rows, results)


def measure(model, prepared: Prepared, split_name: str) -> dict[str, float] | None:
    """Loss and metrics of one split, in inference mode (dropout off); None for an absent split."""
    from nnlearn.model import evaluation_batches

    if getattr(prepared.splits, split_name) is None:
        return None
    batches = evaluation_batches(prepared.x(split_name), prepared.y(split_name))
    results = model.evaluate(batches, verbose=0, return_dict=True)
    return {name: float(value) for name, value in results.items()}


def _save_inputs(run_dir: Path, prepared: Prepared, versions: dict, started: datetime) -> None:
    config = prepared.config
    header = (f"# The resolved config of this run: every default filled in.\n"
              f"# seed {config.seed}; " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "\n")
    write_yaml(run_dir / CONFIG_FILE, config.model_dump(mode="json"), header)
    dataset = prepared.dataset
    write_json(run_dir / PREPROCESSING_FILE, {
        "normalizer": prepared.normalizer.to_dict(),
        "input_shape": list(prepared.input_shape),
        "feature_names": dataset.feature_names,
        "class_names": dataset.class_names,
        "target_kind": dataset.kind,
        "data_file": str(prepared.source_path) if prepared.source_path else None,
        "data_sha256": _sha256(prepared.source_path) if prepared.source_path else None,
    })
    _save_status(run_dir, "running", started, versions, epochs=0)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save_status(run_dir: Path, status: str, started: datetime, versions: dict, epochs: int) -> None:
    write_json(run_dir / RUN_FILE, {
        "status": status, "started": started.isoformat(timespec="seconds"),
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "epochs": epochs, "command": " ".join(sys.argv[1:]) if sys.argv else "",
        "versions": versions,
    })


def _save_model(model, path: Path) -> None:
    temporary = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _history_rows(history: dict[str, list[float]]) -> list[dict[str, float]]:
    count = len(history.get("loss", []))
    return [{"epoch": index + 1, **{name: float(values[index]) for name, values in history.items()
                                    if index < len(values)}} for index in range(count)]


def _history_csv(rows: list[dict[str, float]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) and not math.isnan(v) else v)
                             for k, v in row.items()})
    return buffer.getvalue()
