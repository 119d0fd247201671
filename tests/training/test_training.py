import csv
import json

import pytest

from nnlearn.errors import RunError, RunFailed
from nnlearn.insight.evaluation import evaluate
from nnlearn.runs.rundir import RunDir, create_run_dir
from nnlearn.training.train import train
from tests.conftest import DIVERGES, LINEAR_REGRESSION, TINY, edited


@pytest.mark.tensorflow
def test_train_then_eval_gives_the_same_test_metrics(write_config):
    run = train(write_config(), ["fit.epochs=2"])
    for name in ("config.yaml", "model.keras", "history.csv", "metrics.json", "preprocessing.json",
                 "run.json"):
        assert (run.run_dir / name).is_file(), name
    assert run.run_dir.parent.name == "runs" and run.run_dir.name.startswith("tiny-")
    assert set(run.metrics) == {"train", "validation", "test"}
    assert set(run.metrics["test"]) == {"loss", "accuracy"}
    rows = list(csv.DictReader((run.run_dir / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    saved = json.loads((run.run_dir / "metrics.json").read_text())
    assert saved["test"] == run.metrics["test"]
    again = evaluate(RunDir.open(run.run_dir))
    for name, value in run.metrics["test"].items():
        assert again.test[name] == pytest.approx(value, abs=1e-6)
    assert sum(map(sum, again.confusion_matrix)) == 30  # 20% of iris's 150 rows
    assert json.loads((run.run_dir / "run.json").read_text())["status"] == "finished"


@pytest.mark.tensorflow
def test_regression_reports_mae_mse_r2_and_eval_agrees(write_config):
    run = train(write_config(LINEAR_REGRESSION))
    assert set(run.metrics["test"]) == {"loss", "mae", "mse", "r2"}
    assert run.metrics["test"]["r2"] > 0.9  # a linear target, learned by one linear unit
    assert run.baseline["r2"] < 0.05
    again = evaluate(RunDir.open(run.run_dir))
    assert again.test["r2"] == pytest.approx(run.metrics["test"]["r2"], abs=1e-6)
    assert again.confusion_matrix is None


@pytest.mark.tensorflow
def test_csv_config_and_conv_model_train(write_config, workdir):
    (workdir / "points.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 7 > 3 else 'no'}\n" for i in range(60)))
    run = train(write_config(edited(TINY, ("source: iris", "source: points.csv\n  target: label"),
                                    ("units: 3", "units: 2"))), ["fit.epochs=1"])
    assert json.loads((run.run_dir / "preprocessing.json").read_text())["class_names"] == ["no", "yes"]
    assert evaluate(RunDir.open(run.run_dir)).class_names == ["no", "yes"]


def test_runs_in_the_same_second_get_their_own_directories(workdir):
    first = create_run_dir("same")
    second = create_run_dir("same")
    assert first != second and first.is_dir() and second.is_dir()


@pytest.mark.tensorflow
def test_out_directory_is_never_overwritten(write_config, workdir):
    (workdir / "taken").mkdir()
    with pytest.raises(RunError, match="never overwrites"):
        train(write_config(), out=workdir / "taken")


@pytest.mark.tensorflow
def test_nan_loss_fails_the_run_and_names_the_epoch(write_config):
    path = write_config(DIVERGES)
    with pytest.raises(RunFailed) as caught:
        train(path)
    assert "NaN or infinite at epoch 1" in caught.value.message
    assert "learning_rate" in caught.value.hint
    run_dir = next((path.parent / "runs").iterdir())
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"


def test_eval_of_a_folder_that_is_not_a_run(workdir):
    (workdir / "empty").mkdir()
    with pytest.raises(RunError, match="not an nnlearn run"):
        evaluate(RunDir.open(workdir / "empty"))
    with pytest.raises(RunError, match="no run directory"):
        evaluate(RunDir.open(workdir / "absent"))
