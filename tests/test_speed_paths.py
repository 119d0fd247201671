"""The fast training path gives the numbers the step-by-step path gives: many steps per call into
TensorFlow, a compiled evaluation, and checkpoints written at most every WRITE_EVERY_SECONDS."""

import pytest

from nnlearn.checkpoint import load_checkpoint
from nnlearn.errors import RunFailed
from nnlearn.training import train
from tests.conftest import DIVERGES, MOONS


def one_step_per_call(monkeypatch):
    """Make every execution a single step: what fit without steps_per_execution did."""
    from nnlearn.model import TrainingSteps

    monkeypatch.setattr(TrainingSteps, "EXECUTION_SECONDS", 0.0)


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
        checkpoint = load_checkpoint(path.parent / "runs" / name)
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
    from nnlearn.callbacks import Checkpointer
    from nnlearn.training import resume

    monkeypatch.setattr(Checkpointer, "WRITE_EVERY_SECONDS", 1e9)  # only epoch 1, then on stopping
    path = write_config(MOONS)
    whole = train(path, ["fit.epochs=6"], out="runs/whole")
    assert load_checkpoint(whole.run_dir)["epoch"] == 6  # written when training ended
    with pytest.raises(SystemError):
        train(path, ["fit.epochs=6"], out="runs/crashed", progress=CrashAfter(4))
    assert load_checkpoint(path.parent / "runs/crashed")["epoch"] == 3
    resumed = resume("runs/crashed")
    assert (resumed.run_dir / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert resumed.metrics == whole.metrics


@pytest.mark.tensorflow
def test_compiled_evaluation_agrees_with_keras_evaluate(write_config):
    """Over more rows than one evaluation batch, so several batches are averaged."""
    from nnlearn.config_file import load_config
    from nnlearn.model import EVAL_BATCH_SIZE, build_model, compile_model
    from nnlearn.prepare import prepare
    from nnlearn.evaluation import measure

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
