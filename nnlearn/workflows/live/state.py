"""What the live page shows: one object, written by the watcher as it trains (the main thread) and read by
the server's threads, each of which is woken when it changes. Its JSON is `GET /api/state` (docs/json.md).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from nnlearn.jsonout import json_text
from nnlearn.teaching.lint import lint
from nnlearn.workflows.live.edits import controls_of
from nnlearn.workflows.live.pictures import picture

RUNS_KEPT = 12  # this session's runs overlaid on the curves: the latest ones
DRAW_EVERY_SECONDS = 0.25  # the pictures are redrawn at most this often while training
DRAW_SHARE = 0.05  # and never take more than this share of the training time


def _problems(error) -> list[dict]:
    return [problem.as_dict() for problem in error.problems]


class LiveState:
    """The page's state (status, the current run's curves and picture, this session's runs, the config's
    text and errors), with a version that grows at every change. Every method takes the lock."""

    def __init__(self, config_path: str | Path, overridden: list[str] | tuple = ()):
        self._changed = threading.Condition()
        self._json: tuple[int, str] | None = None
        self.version = 0
        self.closed = False
        self.overridden = list(overridden)
        self.shown: dict = {
            "status": "waiting", "config": {"path": str(config_path), "text": None, "sha256": None,
                                            "overridden": self.overridden},
            "controls": None, "run_dir": None, "epoch": 0, "epochs": 0, "history": {}, "errors": [],
            "warnings": [], "verdict": None, "test": None, "baseline": None, "failure": None, "changes": [],
            "picture": None, "runs": []}

    def _update(self, **values) -> None:
        with self._changed:
            self.shown.update(values)
            self.version += 1
            self._changed.notify_all()

    def saved(self, text: str) -> None:
        """A save of the config was picked up (its text, before it is checked)."""
        config = {**self.shown["config"], "text": text, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
        self._update(config=config, controls=controls_of(text, self.overridden))

    def changed(self, changes: list[tuple[str, object, object]]) -> None:
        """What the save changed in the resolved config, shown as its run starts."""
        self._update(changes=[{"key": key, "before": before, "after": after} for key, before, after in changes])

    def before_training(self, warnings) -> None:
        self._update(warnings=[problem.as_dict() for problem in warnings])

    def started(self, run_dir, epochs: int) -> None:
        """A new run: its curves start empty; the previous runs stay overlaid."""
        with self._changed:
            # the run's history is sent once while it trains (as `history`), and kept in `runs` when it ends
            record = {"run_dir": str(run_dir), "status": "training", "history": {}, "test": None,
                      "baseline": None, "verdict": None, "changes": self.shown["changes"]}
            runs = (self.shown["runs"] + [record])[-RUNS_KEPT:]
            self._update(status="training", run_dir=str(run_dir), epoch=0, epochs=epochs, history={},
                         errors=[], verdict=None, test=None, baseline=None, failure=None, picture=None, runs=runs)

    def epoch_ended(self, number: int, logs: dict) -> None:
        with self._changed:
            for name, value in logs.items():  # 7 significant digits: a float32's, in a third of the JSON
                self.shown["history"].setdefault(name, []).append(float(f"{float(value):.7g}"))
            self._update(epoch=number)

    def drawn(self, picture: dict | None) -> None:
        self._update(picture=picture)

    def finished(self, run, verdicts: list) -> None:
        """A run completed: its test metrics beside what no learning scores, and its verdict."""
        verdict = verdicts[0].to_json() if verdicts else None
        test = run.metrics.get("test")
        self._end_run("finished", verdict=verdict, test=test, baseline=run.baseline)
        self._update(status="waiting")

    def failed(self, error, verdicts: list) -> None:
        """A run stopped by a failure (a NaN loss; a run that cannot go on): its message and diagnosis;
        watching goes on."""
        verdict = verdicts[0].to_json() if verdicts else None
        failure = {"kind": type(error).__name__, "problems": _problems(error)}
        self._end_run("failed", verdict=verdict)
        self._update(status="waiting", failure=failure)

    def invalid(self, error) -> None:
        """A save the watcher could not train (the config's problems, with their lines): the last good run
        stays on the page."""
        if self.shown["status"] == "training":  # (a data file that became unreadable while it trained)
            self._end_run("failed")
        self._update(status="invalid", errors=_problems(error))

    def _end_run(self, status: str, **values) -> None:
        with self._changed:
            runs = self.shown["runs"]
            if runs and runs[-1]["run_dir"] == self.shown["run_dir"]:
                runs[-1].update(status=status, history=self.shown["history"], **values)
            self._update(**values)

    def close(self) -> None:
        """The watcher stopped: every waiting reader is woken and told so."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def snapshot(self) -> tuple[int, str]:
        """(version, the state as JSON), made once per version however many pages read it."""
        with self._changed:
            if self._json is None or self._json[0] != self.version:
                self._json = (self.version, json_text({**self.shown, "version": self.version}))
            return self._json

    def wait_newer(self, version: int, timeout: float) -> int | None:
        """Wait until the version is past `version` (returns the new one), or timeout or close (None)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > version or self.closed, timeout)
            return self.version if self.version > version and not self.closed else None


class LiveProgress:
    """A progress reporter (see nnlearn.training.train.Silent) that tells the terminal's reporter everything, as
    `watch` without --serve does, and keeps the page's state: each epoch's numbers, and the picture of the
    model, redrawn every DRAW_EVERY_SECONDS at most while training (and at the last epoch)."""

    def __init__(self, terminal, state: LiveState):
        self.terminal = terminal
        self.state = state
        self.epochs = 0
        self.drawn_at = -float("inf")
        self.pause = DRAW_EVERY_SECONDS
        self.undrawn = None  # (epoch, model, prepared) when the latest weights were not drawn

    def before_training(self, prepared) -> None:
        self.terminal.before_training(prepared)
        self.state.before_training(lint(prepared))

    def run_started(self, run_dir, name: str, first_epoch: int = 0) -> None:
        self.terminal.run_started(run_dir, name, first_epoch)

    def initial_loss(self, measured: float, expected: float, reason: str) -> None:
        self.terminal.initial_loss(measured, expected, reason)

    def start(self, epochs: int, run_dir, first_epoch: int = 0) -> None:
        self.terminal.start(epochs, run_dir, first_epoch)
        self.epochs, self.drawn_at, self.undrawn = epochs, -float("inf"), None
        self.state.started(run_dir, epochs)

    def epoch(self, number: int, logs: dict) -> None:
        self.terminal.epoch(number, logs)
        self.state.epoch_ended(number, logs)

    def weights_after(self, epochs: int, model, prepared) -> None:
        self.terminal.weights_after(epochs, model, prepared)
        self.undrawn = (epochs, model, prepared)
        if epochs == self.epochs or time.monotonic() - self.drawn_at >= self.pause:
            self._draw()

    def _draw(self) -> None:
        epochs, model, prepared = self.undrawn
        self.undrawn = None
        clock = time.monotonic()
        try:
            drawn = picture(model, prepared, epochs)
        except Exception as error:  # a picture that cannot be drawn must never fail the learner's run
            drawn = {"epoch": epochs, "error": f"the picture could not be drawn: {type(error).__name__}: {error}"}
        self.state.drawn(drawn)
        self.drawn_at = time.monotonic()
        self.pause = max(DRAW_EVERY_SECONDS, (self.drawn_at - clock) / DRAW_SHARE)

    def finish(self) -> None:
        self.terminal.finish()
        if self.undrawn is not None:  # stopped early: the last weights are drawn too
            self._draw()

    @property
    def trained(self) -> int:
        return self.terminal.trained
