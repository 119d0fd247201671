"""What the diagnosis of a run reads (RunNumbers) and says (Verdict), and the few measures its checks and
remedies share: stretches of epochs, the key metric, the noise of an accuracy, a command to retrain."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nnlearn.config.schema import key_metric as schema_key_metric
from nnlearn.model.divergence import retrain_command


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
    loss_before_training: float | None = None  # measured when the run started (run.json), when it was
    dropout: tuple[float, ...] = ()  # each layer's dropout rate (0 for a layer that is not dropout)
    standardize_target: bool = False  # data.standardize_target
    unscaled_target_loss: float | None = None  # mean(y²) of a regression target far from size 1 (baselines)
    feature_sizes: tuple[float, float] | None = None  # the smallest and largest feature's sizes, when far from 1
    batch_losses: list[float] = field(default_factory=list)  # a first epoch that ended in NaN, batch by batch
    failure: dict = field(default_factory=dict)  # run.json's failure: {"reason": "nan", "epoch": E, "batch": B}

    @property
    def untrained_loss(self) -> float | None:
        """initial_loss when it is known (a positive number), else None."""
        return self.initial_loss if finite(self.initial_loss) and self.initial_loss > 0 else None

    @property
    def start_loss(self) -> float | None:
        """Where the loss started: measured before training when recorded, else the untrained loss."""
        measured = self.loss_before_training
        return measured if finite(measured) and measured > 0 else self.untrained_loss

    @property
    def finished(self) -> bool:
        return self.status == "finished"


@dataclass
class Trend:
    """How the watched loss ended: the validation loss when every epoch has one, else the training loss;
    its averages over the last tenth of the epochs and the tenth before, and where its lowest epoch is."""

    name: str  # validation or training
    before: float  # the average over the tenth before the last
    after: float  # the average over the last tenth
    window: int  # epochs in a tenth (at least one)
    lowest: int  # the index of its lowest epoch
    count: int  # epochs
    scale: float  # the untrained loss it is measured against (the first epoch's loss when that is unknown)

    @property
    def fell(self) -> float:
        """How much lower the last tenth averaged than the tenth before, as a share of the untrained loss."""
        return (self.before - self.after) / self.scale

    @property
    def lowest_in_last_tenth(self) -> bool:
        return self.lowest >= self.count - self.window


def loss_trend(numbers: RunNumbers) -> Trend | None:
    """The watched loss's Trend (one pass over the history); None before two finite epochs."""
    rows = numbers.history
    validation = [row.get("val_loss") for row in rows]
    name, key = (("validation", "val_loss") if validation and all(finite(loss) for loss in validation)
                 else ("training", "loss"))
    losses = [row.get(key) for row in rows]
    if len(losses) < 2 or not all(finite(loss) for loss in losses):
        return None
    window = tenth_of(len(losses))
    scale = numbers.untrained_loss or abs(losses[0]) or 1.0
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return Trend(name, mean(losses[-2 * window:-window]), mean(losses[-window:]), window, lowest, len(losses), scale)


def finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def tenth_of(count: int) -> int:
    """The last tenth of count epochs, at least one: the stretch the rules compare."""
    return max(1, count // 10)


def key_metric(metrics: dict) -> str | None:
    """The run's test metric that says how well it does (accuracy, else r2); None when it has neither."""
    name, higher_is_better = schema_key_metric(metrics.get("test") or {})
    return name if higher_is_better else None


def retrain(numbers: RunNumbers, *settings: str) -> str:
    """The command that trains the run again with these settings, each quoted where a shell needs it (zsh
    reads `model.layers[0].units=16` unquoted as a file pattern)."""
    return retrain_command(numbers.run_dir, *settings)


def train_longer(numbers: RunNumbers) -> str:
    """Twice the epochs the run was given or went through, whichever is more: never fewer than it had."""
    return retrain(numbers, f"fit.epochs={2 * max(numbers.epochs_planned, len(numbers.history))}")


def accuracy_noise(rate: float, rows: int) -> float:
    """Two standard errors of a share (an accuracy, an error rate) near `rate`, measured on this many
    examples: 2·√(rate·(1 − rate)/rows), at least 0.01."""
    return max(2 * math.sqrt(max(rate * (1 - rate), 1e-4) / max(rows, 1)), 0.01)


def squared_error_noise(value: float, rows: int) -> float:
    """Two standard errors of a mean squared error measured on this many examples, taking the errors as
    normal (the square of a normal error spreads by √2 times its mean): 2·value·√(2/rows)."""
    return 2 * value * math.sqrt(2 / max(rows, 1))


@dataclass
class Errors:
    """The error a learner reads off a run, for the model it ended with: 1 − accuracy for a classifier,
    the loss (the squared error) for a regression; from the saved evaluation of each split (metrics.json),
    or the last epoch of the history when the run did not finish."""

    name: str  # "error" (1 − accuracy) or "squared error"
    train: float
    validation: float | None
    where: str  # which numbers: "the saved evaluation" or "epoch N of the history"


def errors(numbers: RunNumbers) -> Errors | None:
    """The training and validation error of the model the run ended with; None when they are not known."""
    measured = [numbers.metrics.get(split) or {} for split in ("test", "train")] + numbers.history[-1:]
    classifier = any("accuracy" in scores for scores in measured)
    key = "accuracy" if classifier else "loss"
    if numbers.finished and numbers.metrics:
        train, validation = ((numbers.metrics.get(split) or {}).get(key) for split in ("train", "validation"))
        where = "the saved evaluation of each split"
    elif numbers.history:
        row = numbers.history[-1]
        train, validation = row.get(key), row.get(f"val_{key}")
        where = f"epoch {row.get('epoch', len(numbers.history)):g} of the history"
    else:
        return None
    if not finite(train):
        return None
    validation = validation if finite(validation) else None
    if classifier:
        return Errors("error", 1 - train, None if validation is None else 1 - validation, where)
    return Errors("squared error", train, validation, where)


def hidden_layers(numbers: RunNumbers) -> list[tuple[int, int]]:
    """(index, units) of each dense layer before the output layer."""
    dense = [(index, units) for index, units in enumerate(numbers.units) if units]
    return dense[:-1]
