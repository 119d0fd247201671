"""data.standardize_target: a regression learns its target standardised, z = (y − mean) / std, with the
training split's mean (one per output) and standard deviation (one number over all outputs), while every
number a person sees (the loss, the metrics, the predictions) is back in y's own units.

A target of size 150 makes the squared error start near 150² and each gradient step grow with it: plain
gradient descent diverges at any usual rate. Standardised, the target is of size 1, like the features.
One standard deviation for all outputs keeps the conversion exact: every squared error is std² times the
standardised one, every absolute error std times it, and r2 does not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# how each logged number converts back to y's units: squared errors by std², absolute errors by std
POWERS = {"loss": 2, "mse": 2, "mae": 1}


@dataclass
class TargetScale:
    """The mean (per output) and standard deviation (one number) a regression's target was standardised with."""

    mean: np.ndarray
    std: float

    @classmethod
    def fit(cls, y_train: np.ndarray) -> TargetScale:
        values = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
        mean = values.mean(axis=0)
        std = float(np.sqrt(np.mean((values - mean) ** 2)))
        return cls(mean, std if std > 0 else 1.0)

    def to_model(self, y: np.ndarray) -> np.ndarray:
        """Targets in y's units → what the model learns (float32, one column per output)."""
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return ((values - self.mean) / self.std).astype(np.float32)

    def from_model(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs → predictions in y's units."""
        values = np.asarray(outputs, dtype=np.float64)
        return values.reshape(len(values), -1) * self.std + self.mean

    def in_units(self, logs: dict) -> dict:
        """Logged numbers (loss, mse, mae, and their val_ twins) converted to y's units; others as they are."""
        converted = {}
        for name, value in logs.items():
            power = POWERS.get(name[4:] if name.startswith("val_") else name)
            converted[name] = float(value) * self.std ** power if power else value
        return converted

    def to_dict(self) -> dict:
        return {"mean": [float(value) for value in self.mean], "std": self.std}

    @classmethod
    def from_dict(cls, state: dict) -> TargetScale:
        return cls(np.asarray(state["mean"], dtype=np.float64), float(state["std"]))


def problem(state) -> str | None:
    """What is wrong with a saved target_scale (preprocessing.json), or None."""
    if not isinstance(state, dict) or not {"mean", "std"} <= set(state):
        return "target_scale must hold mean and std."
    mean, std = state["mean"], state["std"]
    numbers = isinstance(mean, list) and mean and all(
        isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) for value in mean)
    if not numbers:
        return "target_scale.mean must be a list of finite numbers."
    if not (isinstance(std, (int, float)) and not isinstance(std, bool) and np.isfinite(std) and std > 0):
        return "target_scale.std must be a positive number."
    return None
