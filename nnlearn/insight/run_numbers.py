"""What the diagnosis of a run reads (RunNumbers) and says (Verdict), and the few measures its checks and
remedies share: stretches of epochs, the key metric, the noise of an accuracy, a command to retrain."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

from nnlearn.config.schema import key_metric as schema_key_metric


@dataclass
class Verdict:
    """One finding about a run, with the numbers behind it and what to try next."""

    kind: str  # learned_nothing, diverged, still_improving, high_bias, high_variance, healthy
    title: str
    evidence: str
    next_step: str
    command: str | None = None  # a complete command to try, when one fits

    def to_json(self) -> dict:
        return {"kind": self.kind, "title": self.title, "evidence": self.evidence,
                "next_step": self.next_step, "command": self.command}


@dataclass
class RunNumbers:
    """What diagnose reads: the history rows, the saved metrics and baseline, and a few settings."""

    history: list[dict]
    metrics: dict  # {"train": {...}, "validation": {...} | None, "test": {...}} (may be empty for a failed run)
    baseline: dict  # the test split's no-learning scores
    epochs_planned: int
    learning_rate: float
    normalize: str
    test_rows: int
    status: str = "finished"  # or failed (NaN), interrupted, running
    run_dir: str = "RUN_DIR"
    patience: int | None = None  # fit.early_stopping.patience, None when early stopping is off
    validation_rows: int = 0
    initial_loss: float | None = None  # the loss an untrained model starts from (baselines.expected_initial_loss)
    activations: tuple[str, ...] = ()  # the model's activations, input to output
    units: tuple[int | None, ...] = ()  # each layer's units (None for a layer that is not dense), input to output
    l2: tuple[float, ...] = ()  # each layer's kernel_regularizer.l2 (0 when it has none), input to output
    optimizer: str = "adam"  # compile.optimizer.type
    monitor: str = "val_loss"  # fit.early_stopping.monitor
    min_delta: float = 0.0  # fit.early_stopping.min_delta
    restore_best_weights: bool = False  # fit.early_stopping.restore_best_weights (when early stopping is on)

    @property
    def untrained_loss(self) -> float | None:
        """initial_loss when it is known (a positive number), else None."""
        return self.initial_loss if finite(self.initial_loss) and self.initial_loss > 0 else None


@dataclass
class Trend:
    """Whether the watched loss (validation when every epoch has one, else training) was still falling."""

    name: str  # validation or training
    falling: bool
    evidence: str  # the numbers, in words, either way
    fell: float = 0.0  # the share it fell by over the last stretch (or the last epoch)


def finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def median(values: list[float]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def stretch_of(count: int) -> int:
    return max(3, count // 10)


def key_metric(metrics: dict) -> str | None:
    """The run's test metric that says how well it does (accuracy, else r2); None when it has neither."""
    name, higher_is_better = schema_key_metric(metrics.get("test") or {})
    return name if higher_is_better else None


def retrain(numbers: RunNumbers, *settings: str) -> str:
    """The command that trains the run again with these settings, each quoted where a shell needs it (zsh
    reads `model.layers[0].units=16` unquoted as a file pattern)."""
    return " ".join([f"nnlearn train --from {shlex.quote(numbers.run_dir)}"]
                    + [f"--set {shlex.quote(setting)}" for setting in settings])


def train_longer(numbers: RunNumbers) -> str:
    """Twice the epochs the run was given or went through, whichever is more: never fewer than it had."""
    return retrain(numbers, f"fit.epochs={2 * max(numbers.epochs_planned, len(numbers.history))}")


def accuracy_noise(baseline: float, rows: int) -> float:
    """Two standard errors of an accuracy near the baseline on this many examples (at least 0.01)."""
    return max(2 * math.sqrt(max(baseline * (1 - baseline), 1e-4) / max(rows, 1)), 0.01)


def gap(validation: float, train: float) -> bool:
    """A validation loss clearly above the training loss: half as large again, and by more than 0.05."""
    return validation > 1.5 * train and validation - train > 0.05


def hidden_layers(numbers: RunNumbers) -> list[tuple[int, int]]:
    """(index, units) of each dense layer before the output layer."""
    dense = [(index, units) for index, units in enumerate(numbers.units) if units]
    return dense[:-1]
