"""Runs are reproducible, resumable, never half-written, and safe to load."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from nnlearn.errors import DataError, RunError
from nnlearn.insight.evaluation import evaluate
from nnlearn.insight.predict import predict
from nnlearn.runs.catalog import compare, list_runs
from nnlearn.runs.checkpoint import load_checkpoint
from nnlearn.runs.rundir import RunDir, create_run_dir, write_atomic
from nnlearn.training.train import train
from tests.conftest import DIVERGES, MOONS, invoke, wait_for_checkpoint


def moons(write_config, epochs=6, name="moons.yaml"):
    """The moons config with fit.epochs set, written through the project's own override path."""
    from nnlearn.config.loading import load_config

    config = load_config(write_config(MOONS, name), [f"fit.epochs={epochs}"])
    return write_config(yaml.safe_dump(config.model_dump(mode="json")), name)


def without_timings(path: Path) -> dict:
    metrics = json.loads(path.read_text())
    metrics.pop("seconds")
    return metrics


@pytest.mark.tensorflow
def test_same_config_and_seed_give_identical_files(write_config):
    path = moons(write_config)
    first = train(path, out="runs/first")
    second = train(path, out="runs/second")
    assert (first.run_dir / "history.csv").read_bytes() == (second.run_dir / "history.csv").read_bytes()
    assert without_timings(first.run_dir / "metrics.json") == without_timings(second.run_dir / "metrics.json")
    header = (first.run_dir / "config.yaml").read_text().splitlines()[1]
    assert "seed 0" in header and "tensorflow" in header and "keras" in header and "nnlearn" in header


def _cli(*args, **options):
    return subprocess.Popen([sys.executable, "-m", "nnlearn", *map(str, args)], cwd=options.get("cwd"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


STREAMED = """\
name: streamed
seed: 1
data: {source: rows.csv, target: y, stream: true}
model: {layers: [{type: dense, units: 8, activation: relu}, {type: dropout, rate: 0.2}, {type: dense, units: 1}]}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.01}}
fit: {epochs: 150, batch_size: 8}
"""


def streamed(write_config, workdir):
    """A config whose CSV of numbers is read from disk a block at a time (data.stream: true)."""
    import numpy as np

    rows = np.random.default_rng(0).normal(size=(300, 2))
    lines = ["a,b,y"] + [f"{a:.5f},{b:.5f},{int(a * b > 0)}" for a, b in rows]
    (workdir / "rows.csv").write_text("\n".join(lines) + "\n")
    return write_config(STREAMED, "streamed.yaml")


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("data", ["in memory", "streamed"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(write_config, workdir, data):
    # 400 (150 streamed, slower per epoch) epochs: long enough to outlast the wait for a checkpoint
    path = moons(write_config, epochs=400) if data == "in memory" else streamed(write_config, workdir)
    whole = train(path, out="runs/whole")
    process = _cli("train", path, "--out", "runs/killed", cwd=workdir)
    wait_for_checkpoint(workdir / "runs/killed", 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = workdir / "runs/killed"
    assert not (killed / "model.keras").exists()
    assert [run.status for run in list_runs(workdir / "runs") if run.run_dir == killed] == ["interrupted"]
    resumed = subprocess.run([sys.executable, "-m", "nnlearn", "train", "--resume", "runs/killed", "--json"],
                             cwd=workdir, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    epochs = [row["epoch"] for row in csv.DictReader((killed / "history.csv").open())]
    assert epochs == [str(number) for number in range(1, whole.epochs + 1)] and whole.epochs >= 150
    assert (killed / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert json.loads(resumed.stdout)["metrics"]["test"] == whole.metrics["test"]
    assert json.loads((killed / "preprocessing.json").read_text()).get("streamed", False) == (data == "streamed")


@pytest.mark.tensorflow
def test_ctrl_c_while_the_plots_are_drawn_keeps_the_finished_run(write_config, monkeypatch):

    from nnlearn.pictures import plots

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "draw_plots", interrupted)
    result = invoke("train", str(moons(write_config)), "--out", "runs/drawn")
    assert result.exit_code == 130, result.output
    assert "nnlearn plot runs/drawn" in " ".join(result.output.split())
    assert json.loads(Path("runs/drawn/run.json").read_text())["status"] == "finished"


@pytest.mark.tensorflow
def test_a_reader_that_leaves_early_does_not_stop_the_run(write_config, workdir):
    # `nnlearn train CONFIG | head -1`: the rest of the output has nowhere to go, the run goes on
    process = _cli("train", moons(write_config), "--out", "runs/piped", "--no-plots", cwd=workdir)
    first_line = process.stdout.readline()
    process.stdout.close()
    _, stderr = process.communicate(timeout=240)
    assert first_line.startswith("Training moons → runs/piped")  # said before TensorFlow is imported
    assert process.returncode == 0, stderr
    assert json.loads((workdir / "runs/piped/run.json").read_text())["status"] == "finished"
    assert "Traceback" not in stderr


@pytest.mark.tensorflow
@pytest.mark.slow
def test_ctrl_c_stops_keeps_a_checkpoint_and_exits_130(write_config, workdir):
    path = moons(write_config, epochs=3000)  # far more than it will train before the Ctrl-C
    process = _cli("train", path, "--out", "runs/stopped", cwd=workdir)
    wait_for_checkpoint(workdir / "runs/stopped", 2, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stderr
    assert "nnlearn train --resume runs/stopped" in stderr.replace("\n", " ")
    run_dir = workdir / "runs/stopped"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    state = load_checkpoint(RunDir.open(run_dir))
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert len(rows) == state["epoch"] >= 2


@pytest.mark.tensorflow
def test_resume_of_a_finished_run_is_refused(write_config):
    run = train(moons(write_config, epochs=2))
    with pytest.raises(RunError, match="already finished"):
        from nnlearn.training.train import resume
        resume(RunDir.open(run.run_dir))


def test_a_crash_between_write_and_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def crash(source, destination):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        write_atomic(target, "new " * 1000)
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]


def test_concurrent_runs_get_their_own_directories(workdir):
    made, barrier = [], threading.Barrier(8)

    def make():
        barrier.wait()
        made.append(create_run_dir("race"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 8 and all(path.is_dir() for path in made)


@pytest.mark.tensorflow
def test_early_stopping_keeps_the_best_model(write_config):
    run = train(write_config(MOONS), ["fit.epochs=200", "fit.early_stopping.monitor=val_loss",
                                      "fit.early_stopping.patience=2"])
    assert run.epochs < 200
    best = min(row["val_loss"] for row in run.history)
    assert run.metrics["validation"]["loss"] == pytest.approx(best, rel=1e-5)
    kept = min(range(len(run.history)), key=lambda index: run.history[index]["val_loss"]) + 1
    assert run.early_stopping == {"stopped": True, "stopped_after": run.epochs, "kept_epoch": kept,
                                  "monitor": "val_loss", "kept_value": best, "patience": 2,
                                  "restored_best_weights": True}
    assert json.loads((run.run_dir / "run.json").read_text())["early_stopping"] == run.early_stopping
    assert list_runs(run.run_dir.parent)[0].early_stopping == run.early_stopping


@pytest.mark.tensorflow
def test_train_says_that_early_stopping_stopped_it_and_which_weights_it_kept(write_config, workdir):


    stopping = ["fit.epochs=200", "fit.early_stopping.monitor=val_loss", "fit.early_stopping.patience=2",
                "fit.early_stopping.restore_best_weights=false"]
    arguments = ["train", str(write_config(MOONS)), "--no-plots", "--out", "runs/stopped", "--json"]
    result = invoke(*arguments + [word for item in stopping for word in ("--set", item)])
    assert result.exit_code == 0, result.output
    early = json.loads(result.stdout)["early_stopping"]
    last = early["stopped_after"]
    assert early["kept_epoch"] == last < 200
    said = " ".join(result.stderr.split())
    assert (f"Early stopping: val_loss had not improved for 2 epochs; stopped after epoch {last} and kept the "
            "last epoch's weights") in said
    listed = invoke("runs")
    assert f"{last}/200" in listed.stdout and "stopped early" in listed.stdout


@pytest.mark.tensorflow
def test_a_run_that_went_to_the_end_but_got_its_best_epoch_back_says_so():
    """Keras brings the best epoch's weights back at the end even when early stopping never stopped the run:
    the saved model is then not the last epoch's, and the run says which it is."""
    from nnlearn.cli.display import early_stopping_line
    from nnlearn.training.train import _early_stop

    class Stopping:  # what training reads of Keras' EarlyStopping after fit
        stopped_epoch, restore_best_weights, best_weights, best_epoch = 0, True, [0.0], 2
        monitor, patience = "val_loss", 5

    rows = [{"val_loss": value} for value in (0.5, 0.3, 0.2, 0.25, 0.24)]
    early = _early_stop(Stopping(), rows)
    assert early == {"stopped": False, "stopped_after": 5, "kept_epoch": 3, "monitor": "val_loss",
                     "kept_value": 0.2, "patience": 5, "restored_best_weights": True}
    assert early_stopping_line(early) == ("Early stopping did not stop the run (val_loss improved within every 5 "
                                          "epochs), but it kept the weights of epoch 3 (val_loss 0.2000), its best, "
                                          "not the last epoch's (5).")
    Stopping.best_epoch = 4  # the last epoch was the best: nothing to say
    assert _early_stop(Stopping(), rows) is None


def test_early_stopping_monitor_must_be_measured(write_config):
    from nnlearn.config.loading import load_config
    from nnlearn.errors import ConfigError

    path = moons(write_config)
    with pytest.raises(ConfigError, match="not measured"):
        load_config(path, ["fit.early_stopping.monitor=val_f1"])
    with pytest.raises(ConfigError, match="needs a validation split"):
        load_config(path, ["fit.early_stopping.monitor=val_loss", "data.validation_split=0"])


def _replace_model(run_dir: Path, model) -> None:
    (run_dir / "model.keras").unlink()
    model.save(run_dir / "model.keras")


@pytest.mark.tensorflow
def test_models_with_lambda_layers_or_custom_objects_are_refused(write_config):
    from nnlearn.model.build import keras

    run = train(moons(write_config, epochs=1))
    lambda_model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2),
                                     keras.layers.Dense(1)])
    _replace_model(run.run_dir, lambda_model)
    with pytest.raises(RunError, match="Lambda layer"):
        evaluate(RunDir.open(run.run_dir))

    import keras as keras_api

    @keras_api.saving.register_keras_serializable(package="evil")
    class Custom(keras.layers.Layer):
        def call(self, x):
            return x

    Custom.__module__ = "evil.layers"
    custom_model = keras.Sequential([keras.Input((2,)), Custom(), keras.layers.Dense(1)])
    _replace_model(run.run_dir, custom_model)
    with pytest.raises(RunError, match="custom code"):
        evaluate(RunDir.open(run.run_dir))


@pytest.mark.tensorflow
def test_predict_classes_probabilities_and_bad_input(moons_run, workdir):
    run = RunDir.open(moons_run)
    good = workdir / "points.csv"
    good.write_text("x2,x1\n0.1,0.5\n0.9,-1\n")  # column order does not matter
    result = predict(run, good)
    assert result.columns == ["class", "p_0", "p_1"]
    for row in result.rows:
        assert row["p_0"] + row["p_1"] == pytest.approx(1.0)
        assert row["class"] == ("1" if row["p_1"] > 0.5 else "0")
    cases = {"x1\n1\n": "missing column 'x2'", "x1,x2,x3\n1,2,3\n": "unknown column 'x3'",
             "x1,x2\n1,oops\n": "line 2, column 'x2'", "x1,x2\n1,nan\n": "line 2, column 'x2' is nan"}
    for content, fragment in cases.items():
        bad = workdir / "bad.csv"
        bad.write_text(content)
        with pytest.raises(DataError, match=fragment):
            predict(run, bad)


@pytest.mark.tensorflow
def test_predict_agrees_with_the_models_argmax_on_iris(tiny_run, workdir):
    import numpy as np

    run = RunDir.open(tiny_run)
    np.savez(workdir / "rows.npz", x=np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]))
    result = predict(run, workdir / "rows.npz")
    assert [sum(row[f"p_{name}"] for name in ("setosa", "versicolor", "virginica")) for row in result.rows] \
        == pytest.approx([1.0, 1.0])
    np.savez(workdir / "wrong.npz", x=np.zeros((2, 3)))
    with pytest.raises(DataError, match="3 values per row"):
        predict(run, workdir / "wrong.npz")


@pytest.mark.tensorflow
def test_runs_and_compare(write_config, workdir):
    first = train(moons(write_config, epochs=2), out="runs/a")
    second = train(moons(write_config, epochs=3), ["model.layers[0].units=8"], out="runs/b")
    summaries = list_runs(workdir / "runs")
    assert [(s.run_dir.name, s.status, s.epochs, s.metric) for s in summaries] == \
        [("a", "finished", 2, "accuracy"), ("b", "finished", 3, "accuracy")]
    result = compare([RunDir.open(first.run_dir), RunDir.open(second.run_dir)])
    assert result.differences == {"model.layers[0].units": [16, 8], "fit.epochs": [2, 3]}
    assert result.metrics["test"]["accuracy"] == [first.metrics["test"]["accuracy"],
                                                  second.metrics["test"]["accuracy"]]


@pytest.mark.tensorflow
def test_cli_predict_runs_compare(write_config, workdir):


    train(moons(write_config, epochs=1), out="runs/one")
    (workdir / "in.csv").write_text("x1,x2\n0,0\n")
    result = invoke("predict", "runs/one", "--input", "in.csv", "--output", "out.csv", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["predictions"][0]["class"] in ("0", "1")
    assert (workdir / "out.csv").read_text().startswith("class,p_0,p_1\n")
    again = invoke("predict", "runs/one", "--input", "in.csv", "--output", "out.csv")
    assert again.exit_code == 2 and "never overwrites" in again.output
    listed = invoke("runs", "--json")
    assert json.loads(listed.stdout)["runs"][0]["status"] == "finished"
    assert invoke("compare", "runs/one", "runs/one").exit_code == 0
    assert invoke("runs", "nowhere").exit_code == 2


class CrashAt:
    """A progress reporter that crashes the process's training at a given epoch, like a power cut."""

    def __init__(self, epoch):
        self.crash_epoch = epoch

    def before_training(self, prepared): ...

    def initial_loss(self, measured, expected, reason): ...

    def run_started(self, run_dir, name, first_epoch=0): ...

    def start(self, epochs, run_dir, first_epoch=0): ...

    def epoch(self, number, logs):
        if number == self.crash_epoch:
            raise SystemError("simulated crash")

    def weights_after(self, epochs, model, prepared): ...

    def finish(self): ...


@pytest.mark.tensorflow
@pytest.mark.slow
def test_resume_with_early_stopping_equals_an_uninterrupted_run(write_config):
    from nnlearn.training.train import resume

    stopping = ["fit.epochs=300", "fit.early_stopping.monitor=val_loss", "fit.early_stopping.patience=4"]
    path = write_config(MOONS)
    whole = train(path, stopping, out="runs/whole")
    assert whole.epochs < 300
    with pytest.raises(SystemError):
        train(path, stopping, out="runs/crashed", progress=CrashAt(whole.epochs - 2))
    resumed = resume(RunDir.open("runs/crashed"))
    assert resumed.epochs == whole.epochs
    assert resumed.early_stopping == whole.early_stopping is not None
    assert json.loads((resumed.run_dir / "run.json").read_text())["early_stopping"] == whole.early_stopping
    assert (resumed.run_dir / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert resumed.metrics == whole.metrics


def test_a_cut_short_history_names_the_file_the_line_and_what_is_wrong(tmp_path):
    from nnlearn.runs.rundir import RunDir

    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n1,0.9,0.95\n2,0.8,0.85\n3,0.7")
    with pytest.raises(RunError) as raised:
        RunDir(tmp_path).history()
    assert raised.value.problems[0].message == (f"{tmp_path / 'history.csv'}, line 4 has only 2 of its 3 values "
                                                "(epoch, loss, val_loss): the file was cut short or edited.")
    assert raised.value.problems[0].hint.endswith(f"as a new run: nnlearn train --from {tmp_path}")
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.9\n2,oops\n")
    with pytest.raises(RunError, match=r"line 3: loss is 'oops', not a number\."):
        RunDir(tmp_path).history()


@pytest.mark.tensorflow
def test_a_finished_run_whose_model_is_gone_says_so_and_how_to_train_again(write_config, workdir):


    run_dir = train(moons(write_config, epochs=2), out="runs/gone").run_dir
    (run_dir / "model.keras").unlink()
    for command in (["eval", "runs/gone"], ["train", "--resume", "runs/gone"]):
        result = invoke(*command, env={"COLUMNS": "400"})
        assert result.exit_code == 2, result.output
        assert "finished training, but its model file model.keras is missing" in result.output
        assert "nnlearn train --from runs/gone --weights" in result.output
        assert "--resume" not in result.output.split("fix:")[1] and "did not finish" not in result.output


@pytest.mark.tensorflow
def test_eval_of_a_failed_run_points_to_its_diagnosis_not_to_a_resume_that_would_fail_again(write_config):


    trained = invoke("train", str(write_config(DIVERGES)), "--out", "runs/nan", "--no-plots")
    assert trained.exit_code == 1
    result = invoke("eval", "runs/nan")
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "runs/nan failed (its loss became NaN or infinite), so it has no model.keras" in said
    assert "nnlearn diagnose runs/nan" in said and "--resume" not in said
