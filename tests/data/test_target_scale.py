"""data.standardize_target: a regression learns y standardised, and every number a person sees is in y's own
units: the run's metrics (checked against NumPy from the saved weights), eval, predict and the ejected script."""

import json
import subprocess
import sys

import numpy as np
import pytest

from nnlearn.data.target_scale import TargetScale
from nnlearn.runs.rundir import RunDir
from tests.conftest import CONFIGS, invoke

SCALED = ["data.standardize_target=true", "fit.epochs=10"]


def test_the_conversion_is_exact_for_squared_and_absolute_errors():
    y = np.array([100.0, 150.0, 200.0, 250.0])
    scale = TargetScale.fit(y)
    assert scale.mean.tolist() == [175.0] and scale.std == pytest.approx(np.std(y))
    predicted = np.array([110.0, 140.0, 230.0, 240.0])
    z, z_hat = scale.to_model(y).astype(np.float64), scale.to_model(predicted).astype(np.float64)
    standardised = {"loss": np.mean((z_hat - z) ** 2), "mae": np.mean(np.abs(z_hat - z)), "r2": 0.5}
    back = scale.in_units({**standardised, **{f"val_{k}": v for k, v in standardised.items()}})
    for name in ("", "val_"):
        assert back[f"{name}loss"] == pytest.approx(np.mean((predicted - y) ** 2), rel=1e-6)
        assert back[f"{name}mae"] == pytest.approx(np.mean(np.abs(predicted - y)), rel=1e-6)
        assert back[f"{name}r2"] == 0.5
    assert np.allclose(scale.from_model(scale.to_model(y)), y.reshape(-1, 1), atol=1e-4)


def test_a_classifier_has_no_target_to_standardise(write_config):
    result = invoke("validate", CONFIGS / "iris_softmax.yaml", "--set", "data.standardize_target=true")
    assert result.exit_code == 2
    assert "data.standardize_target scales a quantity y" in " ".join(result.output.split())


@pytest.mark.tensorflow
def test_a_standardised_target_is_learned_standardised_and_reported_in_its_own_units(workdir):
    from nnlearn.runs.saved_run import prepare_saved_run
    from nnlearn.training.train import train

    run = train(CONFIGS / "mlp_regression.yaml", SCALED, out="runs/scaled")
    saved = json.loads((run.run_dir / "preprocessing.json").read_text())["target_scale"]
    prepared, _ = prepare_saved_run(RunDir.open(run.run_dir))
    train_y = prepared.splits.train.y
    assert saved["mean"] == [pytest.approx(float(np.mean(train_y)))] and saved["std"] == pytest.approx(np.std(train_y))
    # the model's outputs are standardised: NumPy from the saved weights, mapped back with the saved numbers
    from nnlearn.model.saved_model import load_saved_model

    outputs = load_saved_model(run.run_dir / "model.keras").predict(prepared.x("test"), verbose=0)
    predicted = outputs[:, 0] * saved["std"] + saved["mean"][0]
    truth = prepared.splits.test.y
    test = run.metrics["test"]
    assert test["mse"] == pytest.approx(np.mean((predicted - truth) ** 2), rel=1e-4)
    assert test["mae"] == pytest.approx(np.mean(np.abs(predicted - truth)), rel=1e-4)
    assert test["r2"] == pytest.approx(1 - np.sum((predicted - truth) ** 2) / np.sum((truth - truth.mean()) ** 2),
                                       abs=1e-4)
    assert test["mse"] > 1000  # y ≈ 150: its own units, not the standardised ones
    # the learning curves are in y's units too, and the loss before training is y's variance
    history = (run.run_dir / "history.csv").read_text().splitlines()
    assert float(history[1].split(",")[1]) > 1000
    record = json.loads((run.run_dir / "run.json").read_text())
    assert record["loss_before_training"] == pytest.approx(np.var(train_y), rel=0.5)
    evaluated = json.loads(invoke("eval", "runs/scaled", "--json").stdout)
    assert evaluated["metrics"]["test"] == pytest.approx(test, rel=1e-6)
    rows = workdir / "rows.csv"
    rows.write_text(",".join(prepared.dataset.feature_names) + "\n"
                    + "\n".join(",".join(map(repr, row.tolist())) for row in prepared.splits.test.x[:3]) + "\n")
    predicted_rows = invoke("predict", "runs/scaled", "--input", rows, "--json")
    said = json.loads(predicted_rows.stdout)
    assert predicted_rows.exit_code == 0, predicted_rows.output
    assert [row["prediction"] for row in said["predictions"]] == pytest.approx(predicted[:3].tolist(), rel=1e-5)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_ejected_script_standardises_the_target_and_prints_nnlearns_numbers(workdir):
    from nnlearn.training.train import train

    script = workdir / "scaled.py"
    result = invoke("eject", CONFIGS / "mlp_regression.yaml", *sum([["--set", s] for s in SCALED],
                                 []), "-o", script)
    assert result.exit_code == 0, result.output
    assert "target_std = np.sqrt(np.mean((y[rest] - target_mean) ** 2))" in script.read_text()
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=workdir)
    assert ran.returncode == 0, ran.stderr[-2000:]
    ejected = {line.split(":")[0][len("test "):]: float(line.split(":")[1]) for line in ran.stdout.splitlines()
               if line.startswith("test ")}
    ours = train(CONFIGS / "mlp_regression.yaml", SCALED).metrics["test"]
    assert ejected == {metric: pytest.approx(ours[metric], rel=1e-6, abs=1e-6) for metric in ejected}
