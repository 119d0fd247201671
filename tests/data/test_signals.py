"""1-D signals: the seeded signals dataset, conv1d / max_pooling1d / global average pooling layers in the
shape walk, explain, Keras and eject, and the shipped signals config."""

import json

import numpy as np
import pytest

from nnlearn.config.loading import load_config
from nnlearn.data.dataset import load_dataset
from nnlearn.model.prepare import prepare
from nnlearn.model.shapes import infer_shapes
from tests.conftest import CONFIGS, edited, invoke

SIGNALS = """\
name: waves
seed: 1
data: {source: signals, n_samples: 150}
model:
  layers:
    - {type: conv1d, filters: 4, kernel_size: 5, strides: 2, padding: same, activation: relu}
    - {type: max_pooling1d, pool_size: 3}
    - {type: conv1d, filters: 6, kernel_size: 3, activation: relu}
    - {type: global_average_pooling1d}
    - {type: dense, units: 3}
compile: {loss: sparse_categorical_crossentropy}
fit: {epochs: 1, batch_size: 16}
"""


def test_signals_are_seeded_balanced_waves(write_config):
    config = load_config(write_config(SIGNALS))
    first, again = load_dataset(config.data, 1), load_dataset(config.data, 1)
    other = load_dataset(config.data, 2)
    assert np.array_equal(first.x, again.x) and not np.array_equal(first.x, other.x)
    assert first.x.shape == (150, 64) and first.signal_shape == (64, 1)
    assert np.bincount(first.y).tolist() == [50, 50, 50] and first.class_names == ["sine", "square", "sawtooth"]
    # without noise a square wave holds two levels only
    clean = load_dataset(config.data.model_copy(update={"noise": 0.0}), 1)
    square = clean.x[clean.y == 1][0]
    assert len(np.unique(np.round(square, 9))) <= 3  # two levels (and 0 where sin is exactly 0)


def test_the_shape_walk_and_parameter_formulas(write_config):
    config = load_config(write_config(SIGNALS))
    shapes, problems = infer_shapes(config, (64, 1))
    assert not problems
    assert [layer.output_shape for layer in shapes] == [(32, 4), (10, 4), (8, 6), (6,), (3,)]
    assert shapes[0].formula == "5×1×4 + 4 = 24" and shapes[2].formula == "3×4×6 + 6 = 78"
    assert shapes[1].params == shapes[3].params == 0


@pytest.mark.tensorflow
def test_shapes_and_parameters_equal_keras(write_config):
    from nnlearn.model.build import build_model

    text = SIGNALS
    config = load_config(write_config(text))
    prepared = prepare(config)
    model = build_model(config, prepared.input_shape)
    walked = [shape.output_shape for shape in prepared.layers]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == walked
    assert [layer.count_params() for layer in model.layers] == [shape.params for shape in prepared.layers]


@pytest.mark.parametrize("layers, fragment", [
    ("[{type: conv1d, filters: 2, kernel_size: 80}, {type: flatten}, {type: dense, units: 3}]",
     "the window of 80 steps is longer than its input of 64 steps"),
    ("[{type: dense, units: 4}, {type: conv1d, filters: 2}, {type: flatten}, {type: dense, units: 3}]",
     "conv1d needs a sequence input (steps, channels), but its input has shape (4,)"),
    ("[{type: conv1d, filters: 2}, {type: global_average_pooling2d}, {type: dense, units: 3}]",
     "use global_average_pooling1d"),
])
def test_layers_that_do_not_fit_are_explained(layers, fragment, write_config):
    path = write_config(SIGNALS.replace(SIGNALS[SIGNALS.index("  layers:"):SIGNALS.index("compile:")],
                                        f"  layers: {layers}\n"))
    result = invoke("validate", path)
    assert result.exit_code == 2 and fragment in " ".join(result.output.split())


def test_explain_shows_the_formula_and_the_signal(write_config):
    result = invoke("explain", str(write_config(SIGNALS)), "--json")
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.stdout)
    assert explanation["input_shape"] == [64, 1]
    assert explanation["layers"][0]["formula"] == "5×1×4 + 4 = 24"
    assert "signal of 64 steps" in explanation["inputs"]


def test_a_flat_csv_row_is_one_channel(workdir, write_config):
    rows = ["a,b,c,d,e,f,label"] + [f"{i},{i+1},{i},{i+2},{i},{i+1},{i % 2}" for i in range(30)]
    (workdir / "s.csv").write_text("\n".join(rows) + "\n")
    text = edited(SIGNALS, ("{source: signals, n_samples: 150}", "{source: s.csv, target: label}"),
                  ("kernel_size: 5, strides: 2, padding: same", "kernel_size: 2"), ("pool_size: 3", "pool_size: 1"),
                  ("filters: 6, kernel_size: 3", "filters: 6, kernel_size: 2"), ("units: 3", "units: 2"))
    config = load_config(write_config(text))
    assert prepare(config, workdir).input_shape == (6, 1)


@pytest.mark.tensorflow
def test_ejected_signals_equal_nnlearns(write_config, workdir):
    path = write_config(SIGNALS)
    script = invoke("eject", path).stdout
    assert "keras.layers.Conv1D(4, 5, strides=2, padding='same', activation='relu')" in script
    assert "keras.layers.MaxPooling1D(3, padding='valid')" in script
    assert "keras.layers.GlobalAveragePooling1D()" in script
    namespace: dict = {}
    exec(compile(script.split("# Step 1")[0], "ejected", "exec"), namespace)
    prepared = prepare(load_config(path), workdir)
    assert np.array_equal(namespace["x"][namespace["test"]], prepared.x("test"))
    assert np.array_equal(namespace["x"][namespace["rest"]], prepared.x("train"))


@pytest.mark.tensorflow
def test_the_shipped_signals_config_trains_and_predicts(workdir):
    from nnlearn.data.dataset import signals

    result = invoke("train", CONFIGS / "signals_conv1d.yaml", "--set", "fit.epochs=2", "--out", "run", "-q",
                    "--no-plots")
    assert result.exit_code in (0, 1), result.output
    waves = signals(9, 0.3, seed=5)
    np.savez(workdir / "waves.npz", x=waves.x)
    result = invoke("predict", "run", "--input", "waves.npz", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["predictions"]
    assert len(rows) == 9 and all(row["class"] in ("sine", "square", "sawtooth") for row in rows)
    assert all(abs(row["p_sine"] + row["p_square"] + row["p_sawtooth"] - 1) < 1e-5 for row in rows)
