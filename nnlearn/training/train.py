"""Step 3: minimise the cost. Builds, compiles and fits the model, evaluates it, saves the run.

A run directory keeps a checkpoint of the latest complete epoch (written at least every half second, and
whenever training ends or stops), so an interrupted or killed run can be resumed with
`nnlearn train --resume RUN_DIR` and ends exactly as an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nnlearn.config.expectations import ExpectationResult, check_expectations, expectations_for
from nnlearn.config.loading import load_config, problems_from_set
from nnlearn.config.schema import Config
from nnlearn.errors import DataError, Interrupted, NnlearnError, RunError, RunFailed
from nnlearn.model.baselines import (
    baseline_metrics,
    expected_initial_loss,
    unscaled_feature_sizes,
    unscaled_target_loss,
)
from nnlearn.model.divergence import divergence_fix
from nnlearn.model.prepare import Prepared, prepare
from nnlearn.runs import snapshots
from nnlearn.runs.catalog import process_alive
from nnlearn.runs.checkpoint import load_checkpoint, save_checkpoint
from nnlearn.runs.record import fingerprint, with_status
from nnlearn.runs.rundir import SPLITS, RunDir
from nnlearn.runs.saved_run import config_changes, prepare_saved_run
from nnlearn.training import distribute
from nnlearn.training.batch_losses import replay_first_epoch
from nnlearn.training.measure import loss_before_training, measure_splits
from nnlearn.training.streamed import StreamedSteps
from nnlearn.versions import __version__, installed_versions


@dataclass
class Run:
    """A finished run: where it was saved and what it measured."""

    run_dir: Path
    epochs: int
    seconds: float
    metrics: dict[str, dict[str, float] | None]
    baseline: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    expectations: list[ExpectationResult] = field(default_factory=list)
    prepared: Prepared | None = field(default=None, repr=False)  # its data, so showing it needs no reload
    early_stopping: dict | None = None  # when early stopping ended it: see _early_stop

    @property
    def passed(self) -> bool:
        """True when every expectation (`expect`) is met."""
        return all(result.passed for result in self.expectations)

    def to_json(self) -> dict:
        return {"run_dir": str(self.run_dir), "epochs": self.epochs, "seconds": round(self.seconds, 3),
                "metrics": self.metrics, "baseline": {"test": self.baseline},
                "expectations": [result.to_json() for result in self.expectations], "passed": self.passed,
                "early_stopping": self.early_stopping}


class Silent:
    """The default progress reporter: says nothing."""

    def before_training(self, prepared: Prepared) -> None: ...

    def run_started(self, run_dir: Path, name: str, first_epoch: int = 0) -> None: ...

    def initial_loss(self, measured: float, expected: float, reason: str) -> None: ...

    def start(self, epochs: int, run_dir: Path, first_epoch: int = 0) -> None: ...

    def epoch(self, number: int, logs: dict) -> None: ...

    def weights_after(self, epochs: int, model, prepared: Prepared) -> None: ...

    def finish(self) -> None: ...


def train(config_path: str | Path, overrides: list[str] | tuple = (), out: str | Path | None = None,
          progress=None, expect: list[str] | tuple = ()) -> Run:
    """Train the config at config_path (with `KEY=VALUE` overrides) and save a new run directory.

    expect adds expectations such as "accuracy>=0.95" to the config's own; see Run.passed.
    Raises RunFailed when the loss becomes NaN, Interrupted on Ctrl-C.
    """
    config = load_config(config_path, overrides)
    return train_config(config, Path(config_path).parent, out=out, progress=progress, expect=expect)


def train_from(saved: RunDir, overrides: list[str] | tuple = (), out: str | Path | None = None,
               progress=None, expect: list[str] | tuple = (), weights: bool = False) -> Run:
    """A new run that starts from a saved run's config (with overrides), on the same data file; with
    weights, also from the saved run's last good weights (its last checkpoint), so "lower the learning
    rate and try again" is one command. The saved run is never changed.
    """
    config = saved.config(overrides)
    data_file = saved.preprocessing().get("data_file")
    if data_file and not any(override.startswith("data.source=") for override in overrides):
        config.data.source = str(data_file)  # the file the saved run was trained on
    start = None
    if weights:
        checkpoint = load_checkpoint(saved)
        if not checkpoint:
            raise RunError(f"{saved} has no checkpoint: no epoch ended, so there are no weights to start "
                           "from.", hint=f"leave out --weights: nnlearn train --from {saved}")
        start = (saved, checkpoint["variables"])
    return train_config(config, saved.path, out=out, progress=progress, expect=expect, start=start)


def train_config(config: Config, config_dir: Path | None = None, out: str | Path | None = None,
                 progress=None, expect: list[str] | tuple = (), start: tuple | None = None) -> Run:
    """Train an already validated config into a new run directory.

    start: (saved run, its checkpoint's variables): begin from those model weights instead of fresh ones.
    """
    expectations = expectations_for(config, expect)
    _check_tensorboard(config)
    distribute.check_setup(config)
    with problems_from_set(config):
        prepared = prepare(config, config_dir)
    progress = progress if progress and distribute.is_chief(config) else Silent()
    out = distribute.run_dir_of_this_worker(config, out)  # only the chief writes the run directory
    progress.before_training(prepared)
    # the run folder appears with its config, preprocessing and run.json ("starting") before
    # TensorFlow is imported, so a kill during start-up leaves a run that --resume can start again
    with _interrupts_wait() as pressed:  # a Ctrl-C as the folder appears: after it is made, locked and named
        run = start_run_dir(prepared, out)
        progress.run_started(run.path, config.name)
    if pressed:
        saved = _record_ending(run, "interrupted")
        raise Interrupted(f"interrupted; no epoch had ended; {run} holds the run's config, ready to start again."
                          f"{saved}", hint=f"continue with: nnlearn train --resume {run}", run_dir=run.path)
    return _fit_recorded(prepared, run, expectations, progress, checkpoint=None, start=start)


@contextlib.contextmanager
def _handling(signum: int, handler):
    """handler answers signum while the block runs, the previous one after (in the main thread: Python lets
    no other thread set one, and there the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler set outside Python, which Python cannot put back
            signal.signal(signum, previous)


@contextlib.contextmanager
def _interrupts_wait():
    """Ctrl-C waits until the block ends (yields a list that holds the press, if one came)."""
    pressed: list[int] = []
    with _handling(signal.SIGINT, lambda signum, frame: pressed.append(signum)):
        yield pressed


def resume(run: RunDir, progress=None, expect: list[str] | tuple = ()) -> Run:
    """Continue an interrupted run from its last checkpoint to the configured number of epochs.

    Refuses a run whose config.yaml or data changed since it started: its checkpoint, split and
    normaliser belong to the original settings. The run's lock is taken before anything else: a second
    process resuming (or drawing, or reporting) the same run is refused at once, naming the first.
    """
    if distribute.writes_its_run():  # another worker only reads the chief's run (see resumable_copy)
        run.take()
    record = run.record()
    status = record.get("status")
    if status == "finished" and not run.is_finished():
        raise run.missing_model()
    if status == "finished":
        raise RunError(f"{run} has already finished; there is nothing to resume.",
                       hint=f"evaluate it with `nnlearn eval {run}`, or train a new run.")
    failure = run.failure()
    if status == "failed" and failure.get("reason") == "nan":  # the same steps would lead to the same NaN
        raise RunError(f"{run} failed: its loss became NaN or infinite in epoch {failure.get('epoch')}, batch "
                       f"{failure.get('batch')}. Resuming replays the same steps from its last checkpoint, to the "
                       "same NaN.", hint=f"see why and what to change with `nnlearn diagnose {run}`, then start a "
                                         f"new run from it: nnlearn train --from {run} --set KEY=VALUE")
    if status in ("starting", "running") and record.get("pid") != os.getpid() and _alive(record.get("pid")):
        raise RunError(f"{run} is being trained right now (process {record['pid']}).",
                       hint="wait for it to finish, or stop that process first.")
    _check_config_unchanged(run)
    prepared, _ = prepare_saved_run(run)
    _check_data_unchanged(run, record, prepared)
    expectations = expectations_for(prepared.config, expect)
    checkpoint = load_checkpoint(run)
    distribute.check_setup(prepared.config)
    if not distribute.is_chief(prepared.config):  # reads the chief's checkpoint, never writes its files
        run, progress = distribute.resumable_copy(run), None
    progress = progress or Silent()
    progress.run_started(run.path, prepared.config.name, checkpoint["epoch"] if checkpoint else 0)
    return _fit_recorded(prepared, run, expectations, progress, checkpoint)


def _fit_recorded(prepared: Prepared, run_dir: RunDir, expectations, progress, checkpoint: dict | None,
                  start: tuple | None = None) -> Run:
    """_fit, with run.json saying how the run ended whatever ends it (a second Ctrl-C, a full disk, a bug)."""
    try:
        with _terminate_stops():
            return _fit(prepared, run_dir, expectations, progress, checkpoint, start)
    except (RunFailed, Interrupted):
        raise  # _fit recorded these itself
    except (KeyboardInterrupt, _Terminated) as stop:
        saved = _record_ending(run_dir, "interrupted")
        epoch = _checkpoint_epoch(run_dir)
        kept = (f"the checkpoint of epoch {epoch} is kept in {run_dir}" if epoch else
                f"no epoch had ended; {run_dir} holds the run's config, ready to start again")
        how = "stopped by SIGTERM" if isinstance(stop, _Terminated) else "interrupted"
        raise Interrupted(f"{how}; {kept}.{saved}", hint=f"continue with: nnlearn train --resume {run_dir}",
                          run_dir=run_dir.path,
                          exit_code=128 + signal.SIGTERM if isinstance(stop, _Terminated) else None) from None
    except BaseException:
        _record_ending(run_dir, "failed")
        raise


class _Terminated(BaseException):
    """SIGTERM (kill, timeout, a CI job cancelled) arrived while training."""


def _raise_terminated(signum, frame):
    raise _Terminated


def _terminate_stops():
    """While training, SIGTERM raises _Terminated, so run.json can say the run was interrupted."""
    return _handling(signal.SIGTERM, _raise_terminated)


def _record_ending(run_dir: RunDir, status: str) -> str:
    """Write status into run.json; '' or, when that fails too, a sentence naming the file."""
    try:
        failure = {"reason": "error"} if status == "failed" else None  # not a NaN: a crash, a full disk
        run_dir.record_status(status, _checkpoint_epoch(run_dir), failure=failure)
    except (OSError, NnlearnError) as error:
        reason = getattr(error, "strerror", None) or error
        return f" {run_dir.record_file} could not be updated ({reason}); it may still say running."
    return ""


def _checkpoint_epoch(run_dir: RunDir) -> int:
    try:
        checkpoint = load_checkpoint(run_dir)
    except RunError:
        return 0
    return checkpoint["epoch"] if checkpoint else 0


def _alive(pid) -> bool:
    return process_alive(pid)


def _check_config_unchanged(run_dir: RunDir) -> None:
    """Refuse a config.yaml edited since the run started, naming each changed field."""
    changed = config_changes(run_dir, run_dir.config())
    if changed:
        raise RunError(f"{run_dir.config_file} changed since the run started ({'; '.join(changed[:8])}"
                       f"{'; ...' if len(changed) > 8 else ''}). Its checkpoint, split and normaliser belong "
                       "to the original settings, so resuming would mix two runs.",
                       hint=f"put the original values back to resume, or start a new run with the new "
                            f"settings: nnlearn train {run_dir.config_file} --out NEW_DIR")


def _check_data_unchanged(run_dir: RunDir, record: dict, prepared: Prepared) -> None:
    expected = record.get("data_sha256")
    if expected and prepared.dataset.fingerprint() != expected:
        where = prepared.source_path or f"data.source {prepared.config.data.source}"
        raise RunError(f"the data ({where}) changed since {run_dir} started: resuming would train and test "
                       "on other rows than the run began with.",
                       hint=f"put the original data back to resume, or start a new run: nnlearn train "
                            f"{run_dir.config_file} --out NEW_DIR")


def _check_tensorboard(config: Config) -> None:
    import importlib.util

    if config.fit.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise NnlearnError("fit.tensorboard is on, but the tensorboard package is not installed.",
                           path="fit.tensorboard",
                           hint="pip install 'nnlearn[tensorboard]', or set fit.tensorboard: false.")


def _fit(prepared: Prepared, run_dir: RunDir, expectations, progress, checkpoint: dict | None,
         start: tuple | None = None) -> Run:
    from nnlearn.model import build as tf_model  # TensorFlow is imported here, only when training
    from nnlearn.training.callbacks import InOrder, Stopper

    config = prepared.config
    versions = {"nnlearn": __version__, **tf_model.versions()}
    run_dir.record_status("running", checkpoint["epoch"] if checkpoint else 0, versions)
    strategy = distribute.make_strategy(config)  # None for fit.distribute: none
    if strategy is not None:
        run_dir.record_distribution(distribute.describe(strategy, config))
    _decode_every_image(prepared, run_dir)
    tf_model.enable_determinism(config.seed)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:  # under a strategy, every variable is created mirrored on each replica
        model, rows, initial_epoch = _model_of_run(prepared, run_dir, checkpoint, start)
    stopper = Stopper()
    stopping = _early_stopping(config, checkpoint)
    callbacks, checkpointer = _callbacks(prepared, run_dir, progress, model, stopper, stopping, rows)
    steps = _training_steps(model, prepared, strategy)
    steps.stopper = stopper
    if not checkpoint and start is None:
        _check_loss_before_training(steps.evaluation_model(), prepared, progress, run_dir)
    # a fresh run's first weights, to replay its first epoch batch by batch should the loss become NaN in it
    initial = tf_model.snapshot(model) if initial_epoch == 0 and strategy is None else None
    clock = time.perf_counter()
    if initial_epoch < config.fit.epochs:
        progress.start(config.fit.epochs, run_dir, initial_epoch)
        try:
            with _interrupts_stop(stopper), distribute.lost_workers_stop(strategy, run_dir):
                _run_epochs(steps, prepared, InOrder(callbacks, model), checkpointer, initial_epoch)
        finally:
            checkpointer.write()
            progress.finish()
    seconds = time.perf_counter() - clock
    if stopper.reason is not None:
        _stopped(prepared, run_dir, stopper, versions, rows, (steps, model, initial))
    return _finished(prepared, run_dir, steps.evaluation_model(), expectations, versions,
                     (rows, seconds, _early_stop(stopping, rows) if stopping is not None else None))


def _early_stopping(config: Config, checkpoint: dict | None):
    """fit.early_stopping's callback, carrying on from the checkpoint's state when resumed; None without it."""
    from nnlearn.training.callbacks import ResumableEarlyStopping

    if not config.fit.early_stopping:
        return None
    settings = config.fit.early_stopping
    return ResumableEarlyStopping(
        saved_state=checkpoint["early_stopping"] if checkpoint else None,
        best_weights=checkpoint["best_weights"] if checkpoint else None,
        monitor=settings.monitor, patience=settings.patience, min_delta=settings.min_delta,
        restore_best_weights=settings.restore_best_weights,
        mode="max" if settings.monitor.endswith(("accuracy", "r2")) else "min")


def _callbacks(prepared: Prepared, run_dir: RunDir, progress, model, stopper, stopping, rows: list) -> tuple:
    """(every callback of the run, in order, and the checkpointer among them): progress, the stop on NaN or
    Ctrl-C, early stopping, the checkpoint of each epoch, the snapshots of a few, TensorBoard."""
    from nnlearn.model import build as tf_model
    from nnlearn.training.callbacks import Checkpointer, EpochReporter

    config = prepared.config
    callbacks = [EpochReporter(progress), stopper] + ([stopping] if stopping is not None else [])

    def snapshot(history_rows):
        progress.weights_after(len(history_rows), model, prepared)  # a live page draws the model here
        variables = tf_model.snapshot(model)
        state, best = (stopping.state(), stopping.best_weights) if stopping else (None, None)

        def write():
            save_checkpoint(run_dir, variables, history_rows, state, best)
            run_dir.write_history(history_rows)  # derived: rewritten on resume

        return write

    checkpointer = Checkpointer(stopper, rows, snapshot)
    callbacks.append(checkpointer)
    if snapshots.wanted(prepared):  # a few epochs' weights, to draw how the decision boundary moved
        callbacks.append(snapshots.snapshot_callback(run_dir, config.fit.epochs, stopper))
    if config.fit.tensorboard:
        callbacks.append(tf_model.keras.callbacks.TensorBoard(log_dir=str(run_dir.tensorboard_dir)))
    return callbacks, checkpointer


def _check_loss_before_training(model, prepared: Prepared, progress, run_dir: RunDir) -> None:
    """Does the loss start where an untrained model's should? Said by the progress reporter, kept in run.json."""
    expected, reason = expected_initial_loss(prepared.config, prepared.dataset, prepared.splits.train.y)
    measured, where = loss_before_training(model, prepared)
    reason += where
    if prepared.task != "regression" and math.isfinite(measured) and measured > 1.2 * expected:
        reason += _why_above(model, prepared)
    progress.initial_loss(measured, expected, reason)
    _record_loss_before_training(run_dir, measured)


def _stopped(prepared: Prepared, run_dir: RunDir, stopper, versions: dict, rows: list, trained: tuple) -> None:
    """A run the loss (NaN) or Ctrl-C stopped: recorded as such, and raised as its error."""
    epoch, batch = stopper.stopped_at
    if stopper.reason == "nan":
        steps, model, initial = trained
        if not rows and initial is not None:  # no epoch to draw: the first epoch's batches are the curve

            run_dir.write_batch_losses(replay_first_epoch(steps, model, initial, batch, prepared.in_target_units))
        run_dir.record_status("failed", len(rows), versions, failure={"reason": "nan", "epoch": epoch, "batch": batch})
        raise _nan_failure(prepared, run_dir, epoch, batch, len(rows))
    run_dir.record_status("interrupted", len(rows), versions)
    raise Interrupted(f"interrupted at epoch {epoch}, batch {batch}; the checkpoint of epoch {len(rows)} is "
                      f"kept in {run_dir}.", hint=f"continue with: nnlearn train --resume {run_dir}",
                      run_dir=run_dir.path)


def _finished(prepared: Prepared, run_dir: RunDir, model, expectations, versions: dict, ended: tuple) -> Run:
    """The trained model saved and measured on every split, against the expectations; the run finished."""
    rows, seconds, early = ended
    run_dir.save_model(model)  # under a strategy: a plain copy of the trained weights
    metrics = measure_splits(model, prepared, SPLITS)
    baseline = baseline_metrics(prepared)
    results = check_expectations(expectations, metrics)
    if not run_dir.has_history():
        run_dir.write_history(rows)
    run_dir.write_metrics({**metrics, "baseline": {"test": baseline},
                           "expectations": [result.to_json() for result in results],
                           "epochs": len(rows), "seconds": round(seconds, 3)})
    run_dir.record_status("finished", len(rows), versions, early_stopping=early)
    return Run(run_dir.path, len(rows), seconds, metrics, baseline, rows, results, prepared, early)


def _decode_every_image(prepared: Prepared, run_dir: RunDir) -> None:
    """An image folder's every split decoded before the first epoch: a file TensorFlow cannot decode
    stops the run before any training, not after all of it, when the test split is measured."""
    if prepared.dataset.images is None:
        return
    try:
        for split in (prepared.splits.train, prepared.splits.validation, prepared.splits.test):
            if split is not None:
                split.x  # noqa: B018  decoded (and kept) now
    except DataError as error:
        raise DataError(error.message, path=error.path,
                        hint=f"{error.hint} No epoch was trained: once the folder is fixed, train it as a new run "
                             f"(resuming would refuse the changed folder): nnlearn train --from {run_dir}"
                        ) from None


def _nan_failure(prepared: Prepared, run_dir: RunDir, epoch: int, batch: int, good_epochs: int) -> RunFailed:
    """The error of a run whose loss became NaN, with the same fix as the diagnosis printed below it."""
    optimizer = prepared.config.compile.optimizer
    advice, command = divergence_fix(optimizer.learning_rate, optimizer.type, unscaled_feature_sizes(prepared),
                                     unscaled_target_loss(prepared), str(run_dir))
    return RunFailed(f"the loss became NaN or infinite at epoch {epoch}, batch {batch}; training stopped. "
                     f"The last good checkpoint (epoch {good_epochs}) is in {run_dir}.", hint=f"{advice}: {command}",
                     run_dir=run_dir.path)


def _record_loss_before_training(run_dir: RunDir, measured: float) -> None:
    """run.json keeps the loss measured before training: where the run started, for its diagnosis."""
    if math.isfinite(measured):
        record = run_dir.record()
        record["loss_before_training"] = measured
        run_dir.write_record(record)


def _early_stop(stopping, rows: list[dict]) -> dict | None:
    """What early stopping did, as run.json records it: whether it stopped the run, the last epoch trained,
    the epoch whose weights the model kept (the best one with restore_best_weights, else the last), and
    what it watched. None when it changed nothing: the run ran to the end and kept its last epoch's weights
    (Keras brings the best epoch's weights back at the end even when it did not stop)."""
    stopped_after, stopped = len(rows), stopping.stopped_epoch > 0
    restored = stopping.restore_best_weights and stopping.best_weights is not None
    kept = stopping.best_epoch + 1 if restored else stopped_after
    if not stopped and kept == stopped_after:
        return None
    value = rows[kept - 1].get(stopping.monitor) if 0 < kept <= len(rows) else None
    return {"stopped": stopped, "stopped_after": stopped_after, "kept_epoch": kept, "monitor": stopping.monitor,
            "kept_value": value, "patience": stopping.patience, "restored_best_weights": restored}


def _model_of_run(prepared: Prepared, run_dir: RunDir, checkpoint: dict | None, start: tuple | None):
    """The compiled model, with its checkpoint's weights (resume) or a saved run's (--from --weights):
    (model, history rows so far, first epoch to train)."""
    from nnlearn.model import build as tf_model

    model = tf_model.build_model(prepared.config, prepared.input_shape)
    tf_model.compile_model(model, prepared.config)
    rows: list[dict] = []
    initial_epoch = 0
    if checkpoint:
        try:
            tf_model.restore(model, checkpoint["variables"])
        except (ValueError, TypeError) as error:  # a checkpoint of another architecture or optimizer
            raise RunError(f"the checkpoint in {run_dir} does not fit the model of its config.yaml: "
                           f"{str(error).splitlines()[0][:160]}",
                           hint=f"train again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR"
                           ) from None
        rows = checkpoint["history"]
        initial_epoch = checkpoint["epoch"]
    elif start is not None:
        _start_from(model, *start)
    return model, rows, initial_epoch


def _run_epochs(steps, prepared: Prepared, callbacks, checkpointer, initial_epoch: int) -> None:
    """What model.fit does, with many steps per call into TensorFlow: callbacks see the end of each
    execution (on_train_batch_end, with the last batch's index) and of each epoch, after the execution
    that ended it; the checkpointer is told when the weights are those of an epoch's end. An epoch cut
    short by a callback (NaN, Ctrl-C) is not ended: it never reaches on_epoch_end."""
    model, epochs = steps.model, prepared.config.fit.epochs
    call_ends = _call_ends(prepared)
    model.stop_training = False
    callbacks.on_train_begin()
    logs: dict = {}
    epoch, batch = initial_epoch, 0
    while epoch < epochs and not model.stop_training:
        if batch == 0:
            callbacks.on_epoch_begin(epoch)
        execution = _in_target_units(prepared, steps.run(epoch, batch, next(end for end in call_ends if end > epoch)))
        ended_at = epoch + len(execution.ended)  # the weights are those after ended_at epochs, if any ended
        for number, logs in enumerate(execution.ended, start=epoch):
            if number > epoch:
                callbacks.on_epoch_begin(number)
            callbacks.on_train_batch_end(steps.per_epoch - 1, {k: v for k, v in logs.items()
                                                               if not k.startswith("val_")})
            if model.stop_training:
                break
            if steps.validation is not None:
                callbacks.on_test_begin()
                callbacks.on_test_end({k[4:]: v for k, v in logs.items() if k.startswith("val_")})
            callbacks.on_epoch_end(number, logs)
            if model.stop_training:
                break
        else:
            batch += execution.steps - len(execution.ended) * steps.per_epoch
            epoch = ended_at
            if batch > 0:  # stopped inside an epoch: its batches so far
                if execution.ended:
                    callbacks.on_epoch_begin(epoch)
                logs = execution.logs
                callbacks.on_train_batch_end(batch - 1, logs)
        if execution.ended:  # (after a NaN, TrainingSteps put them back to that epoch's end)
            checkpointer.weights_after(ended_at)
        if execution.steps == 0:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs)


def _in_target_units(prepared: Prepared, execution):
    """An execution's logs with the losses and metrics in y's own units (data.standardize_target)."""
    if prepared.target_scale is None:
        return execution
    import dataclasses

    return dataclasses.replace(execution, ended=[prepared.in_target_units(logs) for logs in execution.ended],
                               logs=prepared.in_target_units(execution.logs))


def _call_ends(prepared: Prepared) -> list[int]:
    """The epochs (counted from 1) at which a call into TensorFlow must end, so that callbacks reading
    the weights see that epoch's: every epoch for early stopping, TensorBoard and distributed training,
    the kept snapshots' epochs, and the last."""
    fit = prepared.config.fit
    if fit.early_stopping or fit.tensorboard or fit.distribute != "none":
        return list(range(1, fit.epochs + 1))
    kept = snapshots.kept_epochs(fit.epochs) if snapshots.wanted(prepared) else []
    return sorted({*kept, fit.epochs})


def _training_steps(model, prepared: Prepared, strategy):
    """Many compiled training steps per call into TensorFlow: over the arrays on the device, or over batches
    read from disk (data.stream)."""
    from nnlearn.training.steps import TrainingSteps  # TensorFlow

    if prepared.feed.streamed:
        return StreamedSteps(model, prepared)
    validation = None if prepared.splits.validation is None else (prepared.x("validation"), prepared.y("validation"))
    return TrainingSteps(model, prepared.x("train"), prepared.y("train"), prepared.config, strategy, validation)


def _why_above(model, prepared: Prepared) -> str:
    """Why a fresh classifier's loss starts above ln K: its random weights already give logits far from 0."""
    rows = prepared.feed.first_rows("train", 2048)
    logits = np.asarray(model(rows, training=False), dtype=np.float64)
    spread = float(logits.std())
    return (f"; this one starts higher because its random initial weights already give logits spread around "
            f"0 (their standard deviation is {spread:.2g}, measured on the training rows), so some examples get "
            "a confident wrong answer, which costs more than an unsure one. That is normal for a fresh model; "
            "only a loss above 2 × expected + 1 points to a setup mistake")


def _start_from(model, saved_run: RunDir, arrays: dict) -> None:
    """Load a saved run's model weights (not its optimizer's state) into a freshly built model."""
    saved = sorted((key for key in arrays if key.startswith("model_")), key=lambda key: int(key.rsplit("_", 1)[1]))
    variables = model.variables
    shapes = [tuple(arrays[key].shape) for key in saved]
    wanted = [tuple(variable.shape) for variable in variables]
    if shapes != wanted:
        first = next((index for index, pair in enumerate(zip(shapes, wanted)) if pair[0] != pair[1]),
                     min(len(shapes), len(wanted)))
        said = (f"weight array {first} is {'×'.join(map(str, shapes[first]))} there and "
                f"{'×'.join(map(str, wanted[first]))} here" if first < min(len(shapes), len(wanted)) else
                f"it has {len(shapes)} weight arrays, the new model {len(wanted)}")
        raise RunError(f"the weights of {saved_run} do not fit the new model: {said}.",
                       hint="--weights needs the same model.layers; change only other settings, or leave out "
                            "--weights to start from fresh weights.")
    for key, variable in zip(saved, variables):
        variable.assign(arrays[key])


def _interrupts_stop(stopper):
    """While training, the first Ctrl-C asks the Stopper to stop after the current batch; a second
    one interrupts at once."""
    def press(signum, frame):
        if stopper.interrupt_requested:
            raise KeyboardInterrupt
        stopper.interrupt_requested = True

    return _handling(signal.SIGINT, press)


def start_run_dir(prepared: Prepared, out: str | Path | None) -> RunDir:
    """A new run directory holding config.yaml, preprocessing.json and run.json, made without TensorFlow."""
    config = prepared.config
    versions = installed_versions()
    header = (f"# The resolved config of this run: every default filled in.\n"
              f"# seed {config.seed}; nnlearn {__version__}, "
              + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "nnlearn") + "\n")
    dataset = prepared.dataset
    preprocessing = {
        "normalizer": prepared.normalizer.to_dict(),
        "input_shape": list(prepared.input_shape),
        "feature_names": dataset.feature_names,
        "class_names": dataset.class_names,
        "target_kind": dataset.kind,
        "data_file": str(prepared.source_path) if prepared.source_path else None,
        "data_sha256": prepared.feed.sha256(),
        **dataset.saved_state(),
        **({"target_scale": prepared.target_scale.to_dict()} if prepared.target_scale else {}),
    }
    record = with_status(fingerprint(config.applying(), dataset.fingerprint()), "starting", 0, versions)
    config_text = header + yaml.safe_dump(config.applying(), sort_keys=False, allow_unicode=True)
    return RunDir.start(config.name, out, config_text, preprocessing, record)
