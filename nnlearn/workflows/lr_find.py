"""`nnlearn lr-find`: the learning-rate range test.

A fresh model of the config takes one gradient step per batch while the learning rate grows
exponentially, from 1e-6 to 10. The loss first barely moves (steps too small), then falls fast, then
blows up (steps so large they overshoot). A good learning rate lies on the falling part: nnlearn
suggests the middle of the longest stretch where the smoothed loss keeps falling (fast.ai's "valley"),
brought into the range lint accepts. benchmarks/lr_find_rules.py measures it against fast.ai's other
rules ("minimum": a tenth of the rate at the lowest loss; "steep": where the loss falls fastest) and
the optimizer's usual rate, on every shipped config.
Nothing is saved but the curve: the model is thrown away, and no run is changed.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.config.learning_rates import accepted_range
from nnlearn.config.schema import Config
from nnlearn.model.prepare import prepare
from nnlearn.pictures.figures import pyplot, save_figure
from nnlearn.runs.rundir import create_run_dir

START, END, STEPS = 1e-6, 10.0, 100
SMOOTHING = 0.9  # the exponential moving average's β: batches are noisy, the trend is what matters
BLOW_UP = 4.0  # stop once the smoothed loss exceeds 4× its lowest value
PLOT_FILE, CSV_FILE = "lr_find.png", "lr_find.csv"
RULES = ("minimum", "steep", "valley")
RULE = "valley"  # the rule suggested: measured best on the shipped configs (benchmarks/lr_find_rules.py)


@dataclass
class RangeTest:
    """The learning rates tried, one per batch, and the loss of each batch before its step."""

    config_name: str
    learning_rates: list[float]
    losses: list[float]
    smoothed: list[float]
    stopped: str  # "blew up" or "reached the end"
    accepted: tuple[float, float] = (0.0, float("inf"))  # the rates lint accepts for this config
    folder: Path | None = None

    @property
    def minimum_rate(self) -> float:
        """The rate at the lowest smoothed loss."""
        return self.learning_rates[int(np.nanargmin(self.smoothed))]

    @property
    def steepest_rate(self) -> float:
        """Where the smoothed loss falls fastest per factor of learning rate (fast.ai's "steep"), among
        the rates fast.ai reads: the first tenth of the steps (noise) and the last 5 (the blow-up) left out."""
        rates, smoothed = self._read()
        slopes = np.diff(smoothed) / np.diff(np.log(rates))
        return float(rates[int(np.argmin(slopes))]) if len(slopes) else self.minimum_rate

    @property
    def valley_rate(self) -> float:
        """fast.ai's "valley": the rate halfway along the valley (see valley)."""
        return self.valley()[2]

    def valley(self) -> tuple[float, float, float]:
        """The longest run of steps whose smoothed loss keeps falling (a longest decreasing subsequence,
        as fast.ai finds it): its first and last rate, and the rate halfway along it."""
        rates, smoothed = self._read()
        if len(smoothed) < 2:  # it blew up within a few steps: nothing to read but the lowest point
            return self.minimum_rate, self.minimum_rate, self.minimum_rate
        longest = [1] * len(smoothed)  # longest[i]: the longest falling run ending at step i
        end = 0
        for later in range(1, len(smoothed)):
            for earlier in range(later):
                if smoothed[later] < smoothed[earlier] and longest[later] < longest[earlier] + 1:
                    longest[later] = longest[earlier] + 1
            if longest[later] > longest[end]:
                end = later
        start = max(0, end - longest[end])
        third = (end - start) / 3
        return float(rates[start]), float(rates[end]), float(rates[start + int(third) + int(third / 2)])

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        """The part of the curve fast.ai's rules read: without the first tenth of the steps and the last 5."""
        rates, smoothed = np.asarray(self.learning_rates), np.asarray(self.smoothed)
        part = slice(STEPS // 10, max(STEPS // 10 + 2, len(rates) - 5))
        return rates[part], smoothed[part]

    def rate_by(self, rule: str) -> float:
        """A rule's rate, brought into the range lint accepts, to two significant digits."""
        rate = {"minimum": self.minimum_rate / 10, "steep": self.steepest_rate, "valley": self.valley_rate}[rule]
        low, high = self.accepted
        return float(f"{min(max(rate, low), high):.2g}")

    @property
    def suggested_rate(self) -> float:
        return self.rate_by(RULE)

    @property
    def moved_into_range(self) -> bool:
        """Whether the rule's own rate lay outside the range lint accepts (so the suggestion is its edge)."""
        low, high = self.accepted
        return not low <= self.valley_rate <= high

    def override(self) -> str:
        return f"compile.optimizer.learning_rate={self.suggested_rate:g}"

    def to_json(self) -> dict:
        return {"config": self.config_name, "folder": str(self.folder) if self.folder else None,
                "plot": str(self.folder / PLOT_FILE) if self.folder else None,
                "steps": len(self.losses), "stopped": self.stopped, "start": START, "end": END,
                "smoothing": SMOOTHING, "minimum_learning_rate": self.minimum_rate,
                "steepest_learning_rate": self.steepest_rate, "valley_learning_rate": self.valley_rate,
                "accepted_learning_rates": list(self.accepted), "rule": RULE,
                "suggested_learning_rate": self.suggested_rate, "set": self.override(),
                "learning_rates": self.learning_rates, "losses": self.losses, "smoothed_losses": self.smoothed}


def smooth(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    """Exponential moving average with bias correction: the first values are not pulled towards 0."""
    average, smoothed = 0.0, []
    for step, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** step))
    return smoothed


def rate_at(step: int, steps: int = STEPS) -> float:
    """The learning rate of step 0..steps-1: START × (END/START)^(step/(steps-1))."""
    return START * (END / START) ** (step / (steps - 1))


def range_test(config: Config, config_dir: Path | None = None, on_step=None) -> RangeTest:
    """Run the range test on a freshly built model of config; on_step(step, rate, loss) after each batch."""
    from nnlearn.model import build as tf_model  # TensorFlow is imported here, only when training

    prepared = prepare(config, config_dir)
    tf_model.enable_determinism(config.seed)
    model = tf_model.build_model(config, prepared.input_shape)
    tf_model.compile_model(model, config)
    x, y = prepared.x("train"), prepared.y("train")
    batch_size = min(config.fit.batch_size, len(x))
    rng = np.random.default_rng(config.seed)
    order: list[int] = []
    rates, losses = [], []
    stopped = "reached the end"
    for step in range(STEPS):
        if len(order) < batch_size:
            order += rng.permutation(len(x)).tolist()
        batch, order = order[:batch_size], order[batch_size:]
        rate = rate_at(step)
        model.optimizer.learning_rate = rate
        loss = float(model.train_on_batch(x[batch], y[batch], return_dict=True)["loss"])
        rates.append(rate)
        losses.append(loss)
        if on_step is not None:
            on_step(step, rate, loss)
        smoothed = smooth(losses)
        if not math.isfinite(loss) or (step > 5 and smoothed[-1] > BLOW_UP * min(smoothed)):
            stopped = "blew up"
            break
    finite = [(rate, loss) for rate, loss in zip(rates, losses) if math.isfinite(loss)]
    rates, losses = [rate for rate, _ in finite], [loss for _, loss in finite]
    accepted = accepted_range(config.compile.optimizer.type, config.fit.epochs)
    return RangeTest(config.name, rates, losses, smooth(losses), stopped, accepted)


def save(result: RangeTest, out: Path | None = None) -> Path:
    """A new folder (runs/lr-find-<name>-<time>) with lr_find.csv and lr_find.png."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", "learning_rate", "loss", "smoothed_loss"])
    for step, row in enumerate(zip(result.learning_rates, result.losses, result.smoothed)):
        writer.writerow([step, *map(repr, row)])
    folder = create_run_dir(f"lr-find-{result.config_name}", out, files={CSV_FILE: buffer.getvalue()})
    result.folder = folder
    _plot(result, folder / PLOT_FILE)
    return folder


def _plot(result: RangeTest, path: Path) -> None:
    figure, axis = pyplot().subplots(figsize=(7, 4.4))
    axis.plot(result.learning_rates, result.losses, color="tab:blue", alpha=0.3, linewidth=1,
              label="loss of each batch")
    axis.plot(result.learning_rates, result.smoothed, color="tab:blue", label=f"smoothed (β = {SMOOTHING})")
    axis.set_xscale("log")
    lowest = min(result.smoothed)
    axis.set_ylim(min(result.losses) * 0.95, max(result.smoothed[0], lowest) * 1.6 + 1e-9)
    first, last, _ = result.valley()
    axis.axvspan(first, last, color="tab:green", alpha=0.12,
                 label=f"longest fall: learning rate {first:.2g} to {last:.2g}")
    axis.axvline(result.minimum_rate, color="tab:red", linestyle=":",
                 label=f"lowest loss at learning rate {result.minimum_rate:.2g}")
    moved = " (brought into the usual range)" if result.moved_into_range else ""
    axis.axvline(result.suggested_rate, color="tab:green", linewidth=2,
                 label=f"suggested learning rate {result.suggested_rate:g}{moved}")
    axis.set_xlabel("learning rate (log scale)")
    axis.set_ylabel("loss")
    axis.set_title("Learning-rate range test: too small barely moves, too large blows up")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    save_figure(figure, path)
