"""Keras callbacks: report each epoch to the caller, and stop at the first NaN or infinite loss."""

from __future__ import annotations

import math

from nnlearn.model import keras


class EpochReporter(keras.callbacks.Callback):
    """Calls progress.epoch(number, logs) after each epoch."""

    def __init__(self, progress):
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None):
        self.progress.epoch(epoch + 1, dict(logs or {}))


class StopOnNaN(keras.callbacks.Callback):
    """Like TerminateOnNaN, but remembers the epoch and batch where the loss stopped being finite."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.failed_at: tuple[int, int] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failed_at = (self.epoch + 1, batch + 1)
            self.model.stop_training = True
