"""The pictures of the inside of a model, checked against numbers computed independently: NumPy
forward passes from the saved weights, and Keras' own per-example losses."""

import json

import numpy as np
import pytest

from nnlearn.runs.rundir import RunDir
from nnlearn.runs.snapshots import kept_epochs
from tests.conftest import CONFIGS, LINEAR_REGRESSION, TINY, invoke

COFFEE = f"""\
name: coffee
seed: 1
data: {{source: {CONFIGS.parent / "data" / "coffee_roasting.csv"}, target: good_roast}}
model:
  layers:
    - {{type: dense, units: 3, activation: sigmoid}}
    - {{type: dense, units: 1}}
compile: {{loss: binary_crossentropy, optimizer: {{learning_rate: 0.1}}}}
fit: {{epochs: 12, batch_size: 16}}
"""


def test_kept_epochs_spread_over_training():
    assert kept_epochs(4) == [1, 2, 3, 4]
    assert kept_epochs(50) == [1, 2, 5, 10, 23, 50]
    for epochs in (7, 100, 1000):
        kept = kept_epochs(epochs)
        assert kept[0] == 1 and kept[-1] == epochs and len(kept) <= 6 and kept == sorted(set(kept))


def numpy_forward(weights, x, activations):
    """Every dense layer's activation, from the saved weights, in NumPy."""
    functions = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
                 "linear": lambda z: z, "tanh": np.tanh}
    outputs, a = [], x
    for (kernel, bias), name in zip(zip(weights[::2], weights[1::2]), activations):
        a = functions[name](a @ kernel + bias)
        outputs.append(a)
    return outputs


@pytest.fixture(scope="module")
def coffee_run(tmp_path_factory):
    from nnlearn.training.train import train

    folder = tmp_path_factory.mktemp("coffee")
    (folder / "coffee.yaml").write_text(COFFEE)
    return train(folder / "coffee.yaml", out=folder / "run").run_dir


@pytest.mark.tensorflow
def test_unit_planes_equal_numpy_from_the_saved_weights(coffee_run):
    from nnlearn.insight import inside
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run

    prepared, _ = prepare_saved_run(RunDir.open(coffee_run))
    model = load_saved_model(coffee_run / "model.keras")
    xx, yy, planes = inside.unit_planes(model, prepared, steps=30)
    assert [(plane.layer, plane.unit, plane.activation) for plane in planes] == \
        [(0, 0, "sigmoid"), (0, 1, "sigmoid"), (0, 2, "sigmoid")]
    # the grid is in the data's own units (°C and minutes), covering the training points
    train_x = prepared.splits.train.x
    assert xx.min() < train_x[:, 0].min() and xx.max() > train_x[:, 0].max()
    assert yy.min() < train_x[:, 1].min() and yy.max() > train_x[:, 1].max()
    state = json.loads((coffee_run / "preprocessing.json").read_text())["normalizer"]
    points = np.c_[xx.ravel(), yy.ravel()]
    scaled = (points - np.array(state["offset"])) / np.array(state["scale"])
    hidden = numpy_forward(model.get_weights(), scaled, ["sigmoid", "linear"])[0]
    for plane in planes:
        assert np.allclose(plane.values.ravel(), hidden[:, plane.unit], atol=1e-5)


@pytest.mark.tensorflow
def test_mistakes_are_the_wrong_answers_with_the_top_losses_recomputed_by_keras(coffee_run):
    from nnlearn.insight import inside
    from nnlearn.model.build import keras
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run

    prepared, _ = prepare_saved_run(RunDir.open(coffee_run))
    model = load_saved_model(coffee_run / "model.keras")
    found = inside.mistakes(model, prepared, 5)
    logits = model.predict(prepared.x("test"), verbose=0)
    losses = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)(
        prepared.y("test"), logits).numpy()
    wrong = np.flatnonzero((logits[:, 0] > 0) != (prepared.splits.test.y == 1))
    worst = wrong[np.argsort(-losses[wrong], kind="stable")][:5]
    assert 0 < len(found) and [mistake.index for mistake in found] == worst.tolist()
    # asked for more than there are, it lists the wrong answers only, never a right one to fill the list
    assert sorted(mistake.index for mistake in inside.mistakes(model, prepared, 1000)) == wrong.tolist()
    assert len(wrong) < len(losses)
    assert [mistake.loss for mistake in found] == pytest.approx(losses[worst].tolist(), rel=1e-4)
    for mistake in found:
        p = 1 / (1 + np.exp(-logits[mistake.index, 0]))
        assert mistake.predicted == ("1" if p > 0.5 else "0")
        assert mistake.probability == pytest.approx(max(p, 1 - p), rel=1e-5)
        assert mistake.features == prepared.splits.test.x[mistake.index].tolist()


@pytest.mark.tensorflow
def test_dead_and_saturated_shares_equal_numpy(coffee_run, workdir, write_config):
    from nnlearn.insight import inside
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run
    from nnlearn.training.train import train

    prepared, _ = prepare_saved_run(RunDir.open(coffee_run))
    model = load_saved_model(coffee_run / "model.keras")
    [hidden] = inside.activity(model, prepared)
    a = numpy_forward(model.get_weights(), prepared.x("train"), ["sigmoid", "linear"])[0]
    assert hidden.saturated == pytest.approx(np.mean((a < 0.0101) | (a > 0.9899)), abs=1e-9)
    assert hidden.dead is None and hidden.minimum == pytest.approx(a.min(axis=0).tolist(), abs=1e-5)

    relu = train(write_config(TINY), ["fit.epochs=1", "compile.optimizer.learning_rate=5"]).run_dir
    prepared, _ = prepare_saved_run(RunDir.open(relu))
    model = load_saved_model(relu / "model.keras")
    [hidden] = inside.activity(model, prepared)
    a = numpy_forward(model.get_weights(), prepared.x("train"), ["relu", "linear"])[0]
    assert hidden.dead == pytest.approx(np.mean(a.max(axis=0) <= 0))
    warned = inside.activity_warnings([hidden])
    assert bool(warned) == (hidden.dead >= 0.5)


@pytest.mark.tensorflow
def test_two_feature_classifier_pictures_and_snapshots(coffee_run):
    from nnlearn.pictures.plots import draw_plots
    from nnlearn.runs.snapshots import load_snapshots

    kept = load_snapshots(RunDir.open(coffee_run))
    assert sorted(kept) == kept_epochs(12)
    assert [array.shape for array in kept[1]] == [(2, 3), (3,), (3, 1), (1,)]
    assert not np.array_equal(kept[1][0], kept[12][0])  # training moved the weights
    names = {path.name for path in draw_plots(RunDir.open(coffee_run))}
    assert {"units.png", "mistakes.png", "decision_boundary_epochs.png", "decision_boundary.png"} <= names
    assert "filters.png" not in names and "feature_maps.png" not in names
    numbers = json.loads((coffee_run / "plots" / "inside.json").read_text())
    assert numbers["feature_names"] == ["temperature", "duration"]
    assert 0 < len(numbers["mistakes"]) <= 8 and numbers["layers"][0]["activation"] == "sigmoid"
    assert all(mistake["true"] != mistake["predicted"] for mistake in numbers["mistakes"])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_digits_dense_cnn_and_regression_get_the_pictures_that_apply(workdir):
    from nnlearn.training.train import train

    dense = train(CONFIGS / "softmax_digits.yaml", ["fit.epochs=1"], out="runs/dense")
    cnn = train(CONFIGS / "cnn_digits.yaml", ["fit.epochs=1"], out="runs/cnn")
    regression = train(CONFIGS / "mlp_regression.yaml", ["fit.epochs=1"], out="runs/regression")
    from nnlearn.pictures.plots import draw_plots

    drawn = {name: {path.name for path in draw_plots(RunDir.open(run.run_dir))}
             for name, run in (("dense", dense), ("cnn", cnn), ("regression", regression))}
    assert {"units.png", "mistakes.png"} <= drawn["dense"] and "filters.png" not in drawn["dense"]
    assert {"filters.png", "feature_maps.png", "mistakes.png"} <= drawn["cnn"]
    assert "units.png" not in drawn["cnn"]  # a CNN's first layer is conv2d: its filters are shown instead
    assert {"units.png", "mistakes.png", "predicted_vs_true.png"} <= drawn["regression"]
    assert "decision_boundary_epochs.png" not in drawn["dense"] | drawn["cnn"] | drawn["regression"]
    assert not (dense.run_dir / "snapshots.npz").exists()


@pytest.mark.tensorflow
def test_eval_mistakes_and_inspect_json(write_config):
    from nnlearn.training.train import train

    run = train(write_config(LINEAR_REGRESSION), ["fit.epochs=3"])
    result = invoke("eval", run.run_dir, "--mistakes", "4", "--json")
    assert result.exit_code == 0, result.output
    mistakes = json.loads(result.stdout)["mistakes"]
    assert len(mistakes) == 4
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run

    prepared, _ = prepare_saved_run(RunDir.open(run.run_dir))
    predicted = load_saved_model(run.run_dir / "model.keras").predict(prepared.x("test"), verbose=0)[:, 0]
    errors = np.abs(predicted - prepared.splits.test.y)
    assert [m["index"] for m in mistakes] == np.argsort(-errors, kind="stable")[:4].tolist()
    assert mistakes[0]["loss"] == pytest.approx(float(errors.max()), rel=1e-5)
    inspected = invoke("inspect", run.run_dir, "--json", "--mistakes", "2")
    assert inspected.exit_code == 0, inspected.output
    numbers = json.loads(inspected.stdout)
    assert numbers["mistakes"] == mistakes[:2]
    assert numbers["layers"] == []  # one linear unit: no hidden layer
    assert len(numbers["first_layer_units"]) == 1 and len(numbers["first_layer_units"][0]["weights"]) == 3
    missing = invoke("inspect", "runs/nothing-here")
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_the_dead_unit_fix_fits_the_config():
    from nnlearn.config.loading import load_config
    from nnlearn.insight.inside import LayerActivity, activity_warnings

    digits = CONFIGS / "softmax_digits.yaml"  # normalize: standard, Adam at the usual 0.001
    narrow = load_config(digits, ["model.layers[0].units=1", "model.layers[1].units=1"])
    rows = [LayerActivity(0, "dense", "relu", 1, dead=1.0), LayerActivity(1, "dense_1", "relu", 1, dead=1.0)]
    warned = activity_warnings(rows, narrow)
    assert len(warned) == 2 and "--set 'model.layers[0].units=16'" in warned[0]
    assert "--set 'model.layers[1].units=16'" in warned[1]
    assert all("lower learning rate" not in text and "data.normalize" not in text for text in warned)
    # half of 32 units dead at a rate far above the usual, features unscaled: those are the fixes
    wide = load_config(digits, ["compile.optimizer.learning_rate=0.5", "data.normalize=none"])
    [text] = activity_warnings([LayerActivity(0, "dense", "relu", 32, dead=0.5)], wide)
    assert "a lower learning rate (now 0.5, above the usual 0.001 for adam)" in text
    assert "data.normalize: standard, now none" in text and "units=" not in text


@pytest.mark.tensorflow
def test_inspect_text_shows_the_first_layer_weights_and_only_wrong_answers(write_config, monkeypatch):
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run
    from nnlearn.training.train import train

    run = train(write_config(TINY), ["fit.epochs=2"]).run_dir  # iris after 2 epochs: unsure, often wrong
    monkeypatch.setenv("COLUMNS", "80")
    shown = invoke("inspect", run, "--mistakes", "150")
    assert shown.exit_code == 0, shown.output
    assert "First layer: weights w and bias b" in shown.output and "each unit's z = w·x + b" in shown.output
    assert "w (sepal" in shown.output and "x standardised" in shown.output
    weights = load_saved_model(run / "model.keras").get_weights()[0]  # the saved kernel, unit 0's column
    row = next(line for line in shown.output.splitlines() if line.startswith("│    0 │"))
    assert f"{weights[0, 0]:+.3g}" in row and f"{weights[3, 0]:+.3g}" in row
    # every listed example is wrong, and every wrong one is listed: Keras' argmax of the saved model
    prepared, _ = prepare_saved_run(RunDir.open(run))
    predicted = load_saved_model(run / "model.keras").predict(prepared.x("test"), verbose=0).argmax(axis=1)
    wrong = int(np.sum(predicted != prepared.splits.test.y))
    listed = json.loads(invoke("eval", run, "--mistakes", "150", "--json").stdout)["mistakes"]
    assert len(listed) == wrong and all(m["true"] != m["predicted"] for m in listed)
    assert 0 < wrong < len(predicted)  # right answers existed, and none was listed
    assert [m["loss"] for m in listed] == sorted((m["loss"] for m in listed), reverse=True)
