"""Each effect a lint warning claims, made to happen: the case is trained and the effect measured.

(The output-layer warnings' claims are in tests/model/test_output_truth.py, beside the outputs they read.)
"""

import numpy as np
import pytest

from nnlearn.config.loading import config_from_text
from nnlearn.model.prepare import prepare
from nnlearn.runs.rundir import RunDir
from nnlearn.teaching.lint import lint

IRIS = """\
name: iris
seed: 0
data: {source: iris, normalize: standard}
model:
  layers:
    - {type: dense, units: 16, activation: HIDDEN}
    - {type: dense, units: 16, activation: HIDDEN}
    - {type: dense, units: 3}
compile: {loss: sparse_categorical_crossentropy, optimizer: {learning_rate: 0.01}}
fit: {epochs: 5, batch_size: 32}
"""
DIGITS = """\
name: digits
seed: 0
data: {source: digits, normalize: standard}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dense, units: 10}
compile: {loss: sparse_categorical_crossentropy, optimizer: {learning_rate: RATE}}
fit: {epochs: 10, batch_size: 32}
"""
MOONS = """\
name: moons
seed: 0
data: {source: moons, n_samples: 400, noise: 0.2, normalize: standard}
model:
  layers:
    - {type: dense, units: 8, activation: relu FIRST}
    - {type: dense, units: 1 SECOND}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.05}}
fit: {epochs: 30, batch_size: 32}
"""


def warned(text: str) -> dict:
    """The lint warnings of a config, by path."""
    return {warning.path: warning.message for warning in lint(prepare(config_from_text(text)))}


def trained(text: str, folder):
    from nnlearn.training.train import train_config

    return train_config(config_from_text(text), out=folder)


def weights(run) -> list[np.ndarray]:
    from nnlearn.model.build import keras

    return [np.asarray(w, dtype=np.float64)
            for w in keras.models.load_model(run.run_dir / "model.keras", compile=False).get_weights()]


def losses(run) -> list[float]:
    return [epoch["loss"] for epoch in run.history]


@pytest.mark.tensorflow
def test_stacked_linear_layers_are_one_linear_model(tmp_path):
    text = IRIS.replace("HIDDEN", "linear")
    assert "collapse into one linear model" in warned(text)["model.layers[0].activation"]
    run = trained(text, tmp_path / "run")
    w0, b0, w1, b1, w2, b2 = weights(run)
    x = run.prepared.x("test").astype(np.float64)
    layered = ((x @ w0 + b0) @ w1 + b1) @ w2 + b2
    one_matrix, one_bias = w0 @ w1 @ w2, (b0 @ w1 + b1) @ w2 + b2  # w'·x + b'
    assert layered == pytest.approx(x @ one_matrix + one_bias, rel=1e-9, abs=1e-9)
    from nnlearn.model.build import keras

    model = keras.models.load_model(run.run_dir / "model.keras", compile=False)
    predicted = model.predict(x.astype(np.float32), verbose=0)
    assert predicted == pytest.approx(x @ one_matrix + one_bias, rel=1e-4, abs=1e-4)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_sigmoid_hidden_layers_learn_slower_than_relu_and_tanh(tmp_path):
    """Same network, seed and epochs: the loss after 5 epochs (measured on seeds 0-2: relu 0.31-0.49,
    tanh 0.28-0.32, sigmoid 0.83-0.93). tanh is not warned about: it learns about as fast as relu."""
    assert "slows down" in warned(IRIS.replace("HIDDEN", "sigmoid"))["model.layers[0].activation"]
    assert "model.layers[0].activation" not in warned(IRIS.replace("HIDDEN", "tanh"))
    final = {hidden: losses(trained(IRIS.replace("HIDDEN", hidden), tmp_path / hidden))[-1]
             for hidden in ("relu", "tanh", "sigmoid")}
    assert final["relu"] < 0.7 * final["sigmoid"] and final["tanh"] < 0.7 * final["sigmoid"], final
    assert final["tanh"] < 1.5 * final["relu"], final


@pytest.mark.tensorflow
def test_a_softmax_hidden_layer_sums_to_1_and_forgets_a_shift(tmp_path):
    text = IRIS.replace("HIDDEN", "relu").replace("units: 16, activation: relu}\n    - {type: dense, units: 3}",
                                                  "units: 16, activation: softmax}\n    - {type: dense, units: 3}")
    assert "sum to 1" in warned(text)["model.layers[1].activation"]
    run = trained(text, tmp_path / "run")
    w0, b0, w1, b1, *_ = weights(run)
    z = np.maximum(run.prepared.x("test") @ w0 + b0, 0) @ w1 + b1

    def softmax(values):
        shifted = np.exp(values - values.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    assert softmax(z).sum(axis=1) == pytest.approx(1.0)  # 16 outputs, 15 degrees of freedom
    assert softmax(z + 5.0) == pytest.approx(softmax(z))  # how large z was, overall, is gone


@pytest.mark.tensorflow
@pytest.mark.slow
def test_adam_above_the_usual_range_goes_up_between_epochs_and_below_barely_moves(tmp_path):
    """Measured on seeds 0-2: at 0.11 to 0.2 the loss rose between 2 and 5 of 10 epochs; at 0.001 never;
    at 1e-6 it fell 0.3% in 10 epochs (9e-6: 2.4%), at 0.001 81-85%."""
    assert "goes up between epochs" in warned(DIGITS.replace("RATE", "0.11"))["compile.optimizer.learning_rate"]
    assert "barely" in warned(DIGITS.replace("RATE", "9e-6"))["compile.optimizer.learning_rate"]
    curves = {rate: losses(trained(DIGITS.replace("RATE", rate), tmp_path / rate)) for rate in ("0.11", "0.001",
                                                                                                  "9e-6")}
    rises = {rate: sum(later > earlier for earlier, later in zip(curve, curve[1:])) for rate, curve in curves.items()}
    assert rises["0.11"] >= 2 and rises["0.001"] == 0, rises
    fell = {rate: 1 - curve[-1] / curve[0] for rate, curve in curves.items()}
    assert fell["9e-6"] < 0.05 and fell["0.001"] > 0.5, fell


@pytest.mark.tensorflow
@pytest.mark.slow
def test_tiny_gradient_descent_steps_go_as_far_as_fewer_epochs_at_the_usual_rate(tmp_path):
    """99 epochs at 0.0009 against 99 × 0.0009 / 0.01 ≈ 9 epochs at 0.01: the same distance downhill."""
    slow = IRIS.replace("HIDDEN", "relu").replace("optimizer: {learning_rate: 0.01}",
                                                  "optimizer: {type: sgd, learning_rate: 0.0009}")
    text = warned(slow.replace("epochs: 5", "epochs: 99"))["compile.optimizer.learning_rate"]
    assert "about as far as 8.9 epochs at 0.01" in text
    tiny = losses(trained(slow.replace("epochs: 5", "epochs: 99"), tmp_path / "tiny"))
    usual = losses(trained(slow.replace("0.0009", "0.01").replace("epochs: 5", "epochs: 9"), tmp_path / "usual"))
    assert tiny[-1] == pytest.approx(usual[-1], abs=0.05), (tiny[-1], usual[-1])
    assert tiny[-1] < tiny[0] - 0.1  # it did go downhill (1.09 to 0.94), as far as 9 epochs at 0.01 do


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("first, second", [(", kernel_regularizer: {l2: 0.1}", ""),  # one layer, at the threshold
                                           (", kernel_regularizer: {l1: 0.1}", ", kernel_regularizer: {l1: 0.1}")])
def test_a_large_penalty_shrinks_the_weights_flattens_the_outputs_and_underfits(first, second, tmp_path):
    """Measured on moons, 30 epochs: train accuracy 0.96 unpenalised, 0.88 with l2 0.1 on the first layer,
    0.50 with l1 0.1 on both; the outputs' spread over x from 6.6 to 2.5 and 0.0001."""
    text = MOONS.replace("FIRST", first).replace("SECOND", second)
    name = "l1" if "l1" in first else "l2"
    assert "underfits" in warned(text)[f"model.layers[0].kernel_regularizer.{name}"]
    plain = trained(MOONS.replace("FIRST", "").replace("SECOND", ""), tmp_path / "plain")
    penalised = trained(text, tmp_path / "penalised")
    (w_plain, *_), (w_penalised, *_) = weights(plain), weights(penalised)
    assert np.abs(w_penalised).max() < np.abs(w_plain).max() / 5
    spread = [_outputs(run).std() for run in (plain, penalised)]
    assert spread[1] < spread[0] / 2, spread
    assert penalised.metrics["train"]["accuracy"] < plain.metrics["train"]["accuracy"] - 0.05


def _outputs(run) -> np.ndarray:
    from nnlearn.model.build import keras

    model = keras.models.load_model(run.run_dir / "model.keras", compile=False)
    return model.predict(run.prepared.x("train"), verbose=0)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_a_model_with_far_more_parameters_than_rows_memorises_labels_that_are_noise(tmp_path):
    """60 rows of random features with random labels: nothing to learn, everything to memorise."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.integers(0, 2, 60)
    path = tmp_path / "noise.csv"
    path.write_text("a,b,c,d,e,y\n" + "".join(",".join(f"{v:.4f}" for v in row) + f",{label}\n"
                                               for row, label in zip(x, y)))
    text = (f"name: noise\nseed: 0\ndata: {{source: {path}, target: y, normalize: standard}}\n"
            "model:\n  layers:\n    - {type: dense, units: 2000, activation: relu}\n    - {type: dense, units: 1}\n"
            "compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.01}}\n"
            "fit: {epochs: 100, batch_size: 32}\n")
    assert "memorise" in warned(text)["model.layers"]
    run = trained(text, tmp_path / "run")
    assert run.metrics["train"]["accuracy"] == 1.0 and run.history[-1]["loss"] < 0.05
    assert run.metrics["test"]["accuracy"] < 0.8  # what it memorised says nothing about new rows


@pytest.mark.tensorflow
def test_a_batch_larger_than_the_training_set_takes_one_step_per_epoch(tmp_path):
    from nnlearn.runs.checkpoint import load_checkpoint

    text = IRIS.replace("HIDDEN", "relu").replace("batch_size: 32", "batch_size: 500").replace("epochs: 5",
                                                                                                "epochs: 3")
    assert "one step per epoch" in warned(text)["fit.batch_size"]
    run = trained(text, tmp_path / "run")
    steps = load_checkpoint(RunDir.open(run.run_dir))["variables"]["optimizer_0"]  # the optimizer's step count
    assert int(steps) == 3
