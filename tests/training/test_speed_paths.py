"""The fast training path gives the numbers the step-by-step path gives: many steps per call into
TensorFlow (several whole epochs, validation included, when epochs are short), a compiled evaluation,
and checkpoints written at most every WRITE_EVERY_SECONDS."""

import math

import numpy as np
import pytest

from nnlearn.errors import RunFailed
from nnlearn.runs.checkpoint import load_checkpoint
from nnlearn.runs.rundir import RunDir
from nnlearn.training.train import train
from tests.conftest import DIVERGES, MOONS, TINY


def one_step_per_call(monkeypatch):
    """Make every execution a single step: what fit without steps_per_execution did."""
    from nnlearn.training.steps import TrainingSteps

    monkeypatch.setattr(TrainingSteps, "EXECUTION_SECONDS", 0.0)


def whole_epochs_per_call(monkeypatch) -> list:
    """Let executions grow four times a call whatever they take, so from the fourth call on each runs
    several whole epochs; returns the list that collects every call's Execution."""
    from nnlearn.training.steps import TrainingSteps

    monkeypatch.setattr(TrainingSteps, "EXECUTION_SECONDS", 1e9)
    executions = []
    run = TrainingSteps.run

    def recorded(self, *arguments):
        executions.append(run(self, *arguments))
        return executions[-1]

    monkeypatch.setattr(TrainingSteps, "run", recorded)
    return executions


def same_checkpoints(first, second) -> bool:
    one, other = load_checkpoint(RunDir.open(first)), load_checkpoint(RunDir.open(second))
    return (one["history"] == other["history"] and one["variables"].keys() == other["variables"].keys()
            and all(np.array_equal(one["variables"][key], other["variables"][key]) for key in one["variables"]))


@pytest.mark.tensorflow
def test_many_steps_per_call_give_the_same_numbers_as_one(write_config, monkeypatch):
    path = write_config(MOONS)
    many = train(path, ["fit.epochs=5"], out="runs/many")
    one_step_per_call(monkeypatch)
    one = train(path, ["fit.epochs=5"], out="runs/one")
    assert (many.run_dir / "history.csv").read_bytes() == (one.run_dir / "history.csv").read_bytes()
    assert many.metrics == one.metrics


@pytest.mark.tensorflow
def test_nan_names_the_same_batch_whatever_the_execution_size(write_config, monkeypatch):
    path = write_config(DIVERGES)
    settings = ["compile.optimizer.learning_rate=3", "fit.epochs=30"]  # finite for two epochs, then NaN
    with pytest.raises(RunFailed) as many:
        train(path, settings, out="runs/many")
    one_step_per_call(monkeypatch)
    with pytest.raises(RunFailed) as one:
        train(path, settings, out="runs/one")
    where = many.value.message.split(";")[0]
    assert where == one.value.message.split(";")[0]
    assert "at epoch 3, batch" in where
    for name in ("many", "one"):  # the last good checkpoint is the last complete epoch
        checkpoint = load_checkpoint(RunDir.open(path.parent / "runs" / name))
        assert checkpoint["epoch"] == 2 and [row["epoch"] for row in checkpoint["history"]] == [1, 2]


class CrashAfter:
    """A progress reporter that crashes the run when an epoch ends."""

    def __init__(self, epoch):
        self.crash_epoch = epoch

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

    def epoch(self, number, logs):
        if number == self.crash_epoch:
            raise SystemError("simulated crash")


@pytest.mark.tensorflow
def test_a_crash_between_checkpoint_writes_keeps_the_last_complete_epoch(write_config, monkeypatch):
    from nnlearn.training.callbacks import Checkpointer
    from nnlearn.training.train import resume

    monkeypatch.setattr(Checkpointer, "WRITE_EVERY_SECONDS", 1e9)  # written only when training stops
    path = write_config(MOONS)
    whole = train(path, ["fit.epochs=6"], out="runs/whole")
    assert load_checkpoint(RunDir.open(whole.run_dir))["epoch"] == 6  # written when training ended
    with pytest.raises(SystemError):
        train(path, ["fit.epochs=6"], out="runs/crashed", progress=CrashAfter(4))
    assert load_checkpoint(RunDir.open(path.parent / "runs/crashed"))["epoch"] == 3
    resumed = resume(RunDir.open("runs/crashed"))
    assert (resumed.run_dir / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert resumed.metrics == whole.metrics


@pytest.mark.tensorflow
def test_compiled_evaluation_agrees_with_keras_evaluate(write_config):
    """Over more rows than one evaluation batch, so several batches are averaged."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.build import build_model, compile_model
    from nnlearn.model.prepare import prepare
    from nnlearn.training.measure import measure
    from nnlearn.training.steps import EVAL_BATCH_SIZE

    path = write_config(MOONS)
    prepared = prepare(load_config(path, ["data.n_samples=3000"]), path.parent)
    model = build_model(prepared.config, prepared.input_shape)
    compile_model(model, prepared.config)
    x, y = prepared.x("train"), prepared.y("train")
    assert len(x) > EVAL_BATCH_SIZE
    ours = measure(model, prepared, "train")
    keras = model.evaluate(x, y, batch_size=EVAL_BATCH_SIZE, verbose=0, return_dict=True)
    assert set(ours) == set(keras)
    for name, value in keras.items():
        assert ours[name] == pytest.approx(float(value), rel=1e-5)


@pytest.mark.tensorflow
def test_several_epochs_per_call_give_the_same_numbers_as_one_step(write_config, monkeypatch):
    """Iris has four features (no snapshots to keep), so calls run whole epochs, validation included."""
    path = write_config(TINY)
    executions = whole_epochs_per_call(monkeypatch)
    many = train(path, ["fit.epochs=40"], out="runs/many")
    assert max(len(execution.ended) for execution in executions) > 1
    one_step_per_call(monkeypatch)
    one = train(path, ["fit.epochs=40"], out="runs/one")
    assert (many.run_dir / "history.csv").read_bytes() == (one.run_dir / "history.csv").read_bytes()
    assert many.metrics == one.metrics
    assert same_checkpoints(many.run_dir, one.run_dir)


@pytest.mark.tensorflow
def test_nan_after_an_epoch_ended_in_the_same_call_keeps_that_epochs_weights(write_config, monkeypatch):
    path = write_config(DIVERGES)
    settings = ["compile.optimizer.learning_rate=3", "fit.epochs=30"]  # finite for two epochs, then NaN
    executions = whole_epochs_per_call(monkeypatch)
    with pytest.raises(RunFailed) as many:
        train(path, settings, out="runs/many")
    assert any(execution.ended and not math.isfinite(execution.logs["loss"]) for execution in executions)
    one_step_per_call(monkeypatch)
    with pytest.raises(RunFailed) as one:
        train(path, settings, out="runs/one")
    assert many.value.message.split(";")[0] == one.value.message.split(";")[0]
    assert load_checkpoint(RunDir.open(path.parent / "runs/many"))["epoch"] == 2
    assert same_checkpoints(path.parent / "runs/many", path.parent / "runs/one")


@pytest.mark.tensorflow
def test_a_crash_while_a_calls_epochs_are_recorded_keeps_weights_and_history_together(write_config, monkeypatch):
    from nnlearn.training.callbacks import Checkpointer
    from nnlearn.training.train import resume

    monkeypatch.setattr(Checkpointer, "WRITE_EVERY_SECONDS", 1e9)  # written only when training stops
    path = write_config(TINY)
    executions = whole_epochs_per_call(monkeypatch)
    whole = train(path, ["fit.epochs=30"], out="runs/whole")
    executions.clear()
    with pytest.raises(SystemError):
        train(path, ["fit.epochs=30"], out="runs/crashed", progress=CrashAfter(10))
    assert len(executions[-1].ended) > 1  # epoch 10 was one of several that ended in the last call
    kept = load_checkpoint(RunDir.open(path.parent / "runs/crashed"))["epoch"]
    assert 0 < kept < 10
    resumed = resume(RunDir.open("runs/crashed"))
    assert (resumed.run_dir / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert resumed.metrics == whole.metrics
    assert same_checkpoints(resumed.run_dir, whole.run_dir)
