"""Keras callbacks of a run: progress, stopping on NaN or Ctrl-C, and a checkpoint every epoch."""

from __future__ import annotations

import math
import time

from nnlearn.model.build import keras


class InOrder:
    """The run's Keras callbacks, each hook called on every callback in order: what
    keras.callbacks.CallbackList does for logs of Python floats (each callback gets them sorted by
    name, as there), without its conversion of every value, which costs more than a small model's epoch.
    """

    def __init__(self, callbacks: list, model):
        self.callbacks = callbacks
        for callback in callbacks:
            callback.set_model(model)

    def _each(self, hook: str, *arguments, logs: dict | None) -> None:
        logs = dict(sorted((logs or {}).items()))
        for callback in self.callbacks:
            getattr(callback, hook)(*arguments, logs)

    def on_train_begin(self, logs=None):
        self._each("on_train_begin", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._each("on_epoch_begin", epoch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._each("on_train_batch_end", batch, logs=logs)

    def on_test_begin(self, logs=None):
        self._each("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._each("on_test_end", logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._each("on_epoch_end", epoch, logs=logs)

    def on_train_end(self, logs=None):
        self._each("on_train_end", logs=logs)


class EpochReporter(keras.callbacks.Callback):
    """Calls progress.epoch(number, logs) after each epoch."""

    def __init__(self, progress):
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None):
        self.progress.epoch(epoch + 1, dict(logs or {}))


class Stopper(keras.callbacks.Callback):
    """Stops after the current batch when the loss is no longer finite (like TerminateOnNaN) or when
    an interrupt was requested; remembers why and where."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.reason: str | None = None  # "nan" or "interrupted"
        self.stopped_at: tuple[int, int] | None = None
        self.interrupt_requested = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.reason = "nan"
        elif self.interrupt_requested:
            self.reason = "interrupted"
        if self.reason:
            self.stopped_at = (self.epoch + 1, batch + 1)
            self.model.stop_training = True


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping whose state (best value, patience used, best weights) survives a resume."""

    def __init__(self, saved_state: dict | None = None, best_weights=None, **settings):
        super().__init__(**settings)
        self.saved_state = saved_state
        self.saved_best_weights = best_weights

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.saved_state:
            self.wait = self.saved_state["wait"]
            self.best = self.saved_state["best"]
            self.best_epoch = self.saved_state["best_epoch"]
            self.best_weights = self.saved_best_weights

    def state(self) -> dict:
        return {"wait": self.wait, "best": float(self.best) if self.best is not None else None,
                "best_epoch": self.best_epoch}


class Checkpointer(keras.callbacks.Callback):
    """After every complete epoch, append its row to the history; when the training loop says the
    model's weights are those of the last recorded epoch (weights_after), take a snapshot of them.
    The latest snapshot is written to disk when training began or the last write was at least
    WRITE_EVERY_SECONDS ago, and always when training ends or stops (write()), so fast epochs do not
    wait for the disk.

    An epoch cut short by NaN or Ctrl-C is not recorded, so the last checkpoint is always a good one.
    snapshot(epoch_rows) is the caller's function: it copies the weights now and returns a function
    that writes them with the rows, atomically.
    """

    WRITE_EVERY_SECONDS = 0.5

    def __init__(self, stopper: Stopper, rows: list[dict], snapshot):
        super().__init__()
        self.stopper = stopper
        self.rows = rows
        self.snapshot = snapshot
        self.pending = None
        self.written_at = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        if self.stopper.reason:
            return
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})

    def weights_after(self, epochs: int) -> None:
        """The model's weights are now those after `epochs` epochs: snapshot them when that is the last
        recorded epoch (several epochs may end in one call into TensorFlow; only the last one's weights
        are still there)."""
        if epochs != len(self.rows) or not self.rows:
            return
        self.pending = self.snapshot(list(self.rows))
        if time.monotonic() - self.written_at >= self.WRITE_EVERY_SECONDS:
            self.write()

    def on_train_begin(self, logs=None):
        self.written_at = time.monotonic()

    def on_train_end(self, logs=None):
        self.write()

    def write(self) -> None:
        """Write the latest snapshot, if it is not on disk yet."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending()
            self.written_at = time.monotonic()
