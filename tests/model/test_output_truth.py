"""One truth about the outputs: probabilities, classes and accuracy are what the compiled loss makes of the
output layer, for every output activation × from_logits × task.

First Keras 3's own handling is pinned (its loss, against NumPy, on a model built by nnlearn); then each
combination validate lets through is trained, and nnlearn's accuracy, confusion matrix and predictions are
checked against scikit-learn on probabilities computed in NumPy from the weights saved in model.keras.
The combinations validate refuses are checked without TensorFlow, with the claim each error makes.
"""

import json

import numpy as np
import pytest

from nnlearn.config.loading import config_from_text
from nnlearn.runs.rundir import RunDir
from tests.conftest import CONFIGS, edited, invoke

EPSILON, ONE_LESS = np.float32(1e-7), np.float32(1 - 1e-7)  # Keras' clip, as float32 rounds it

BINARY = """\
name: binary
seed: 1  # seed 0 starts the relu output dead: every output 0, every probability 0.5
data: {source: moons, n_samples: 240, noise: 0.2, normalize: standard}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 1, activation: ACTIVATION}
compile: {loss: binary_crossentropy, from_logits: LOGITS, optimizer: {learning_rate: 0.05}}
fit: {epochs: 12, batch_size: 32}
"""
# seed 1 makes scikit-learn's multi-label generator take seconds (it draws again until it likes a row)
MULTILABEL = edited(BINARY, ("source: moons, n_samples: 240, noise: 0.2", "source: multilabel, n_samples: 240"),
                    ("seed: 1", "seed: 0"),
                    ("units: 1, activation: ACTIVATION", "units: 3, activation: ACTIVATION"))
MULTICLASS = edited(BINARY, ("source: moons, n_samples: 240, noise: 0.2", "source: iris"),
                    ("units: 1, activation: ACTIVATION", "units: 3, activation: ACTIVATION"),
                    ("loss: binary_crossentropy", "loss: sparse_categorical_crossentropy"))
ONE_HOT = edited(MULTICLASS, ("sparse_categorical_crossentropy", "categorical_crossentropy"))
REGRESSION = edited(BINARY, ("source: moons, n_samples: 240, noise: 0.2", "source: linear, n_samples: 240"),
                    ("loss: binary_crossentropy", "loss: mean_squared_error, metrics: [mae]"))
TEMPLATES = {"binary": BINARY, "multilabel": MULTILABEL, "multiclass": MULTICLASS, "one-hot": ONE_HOT,
             "regression": REGRESSION}


def config_text(task: str, activation: str, from_logits: bool) -> str:
    return TEMPLATES[task].replace("ACTIVATION", activation).replace("LOGITS", str(from_logits).lower())


# What Keras 3's cross-entropy makes of the output layer, measured: "before" the sigmoid or softmax (the
# values z before it, with the loss's own squash, whatever from_logits says), the outputs "as logits", or
# the outputs "clipped" as probabilities into [1e-7, 1 - 1e-7].
def keras_reads(activation: str, from_logits: bool) -> str:
    if activation in ("sigmoid", "softmax"):
        return "before"
    return "as logits" if from_logits else "clipped"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def numpy_forward(weights: list[np.ndarray], x: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """(z, outputs) of dense(relu) then dense(activation), in float64."""
    kernel, bias, out_kernel, out_bias = (np.asarray(w, dtype=np.float64) for w in weights)
    z = np.maximum(x @ kernel + bias, 0) @ out_kernel + out_bias
    squash = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": sigmoid,
              "softmax": softmax}[activation]
    return z, squash(z)


def loss_probabilities(task: str, activation: str, from_logits: bool, z, outputs) -> np.ndarray:
    """The probabilities the loss computes its value from (a softmax over K classes, else one per unit)."""
    read = keras_reads(activation, from_logits)
    squash = softmax if task in ("multiclass", "one-hot") else sigmoid
    if read == "before":
        return squash(z)
    if read == "as logits":
        return squash(outputs)
    if task == "multiclass":  # sparse: clip, then log, then softmax: the clipped outputs made to sum to 1
        clipped = np.clip(outputs, EPSILON, ONE_LESS)
        return clipped / clipped.sum(axis=1, keepdims=True)
    if task == "one-hot":  # categorical: made to sum to 1, then clipped
        return np.clip(outputs / outputs.sum(axis=1, keepdims=True), EPSILON, ONE_LESS)
    return np.clip(outputs, EPSILON, ONE_LESS)


def numpy_loss(task: str, y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-300, 1)
    if task in ("multiclass", "one-hot"):
        return float(np.mean(-np.log(p[np.arange(len(y)), y])))
    y = y.reshape(p.shape)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(np.clip(1 - p, 1e-300, 1)))))


EVERY_OUTPUT = [(activation, from_logits) for activation in ("linear", "relu", "tanh", "sigmoid", "softmax")
                for from_logits in (True, False)]


def allowed(task: str, activation: str, from_logits: bool) -> bool:
    """The rule validate applies: a sigmoid or softmax output must be the loss's own squash, with
    from_logits: false; K classes read as probabilities (from_logits: false) need that softmax."""
    squash = "softmax" if task in ("multiclass", "one-hot") else "sigmoid"
    if activation in ("sigmoid", "softmax"):
        return activation == squash and not from_logits
    return from_logits or squash == "sigmoid"


def numpy_classes(task: str, p: np.ndarray) -> np.ndarray:
    return p.argmax(axis=1) if task in ("multiclass", "one-hot") else (p > 0.5).astype(int)


# the contradictory combinations are built on purpose here (validate refuses them): Keras' warnings about them
# are expected, and kept out of the suite's summary
KERAS_LOOKS_BEHIND_THE_SQUASH = "ignore:.*does not represent logits:UserWarning"
KERAS_SOFTMAX_OVER_ONE_UNIT = "ignore:You are using a softmax over axis -1:UserWarning"


@pytest.mark.tensorflow
@pytest.mark.filterwarnings(KERAS_LOOKS_BEHIND_THE_SQUASH)
@pytest.mark.parametrize("task", ["multilabel", "multiclass", "one-hot"])
def test_keras_loss_and_nnlearn_accuracy_for_every_output_layer(task, tmp_path):
    """Keras 3's loss on a model nnlearn builds equals NumPy's from the saved weights, read as keras_reads
    says (with a sigmoid or softmax output, from_logits changes nothing: Keras looks behind the squash to
    z); for each combination validate lets through, nnlearn's accuracy metric, probabilities and classes
    equal scikit-learn's and NumPy's. (binary_crossentropy over one unit is multilabel's over 3, but for
    the softmax over one unit, below.)"""
    from sklearn.metrics import accuracy_score

    from nnlearn.model import task as outputs_task
    from nnlearn.model.build import build_model, compile_model, keras, make_metrics
    from nnlearn.model.prepare import prepare

    prepared = prepare(config_from_text(config_text(task, "linear", True)))  # the data (validate refuses some)
    x, y, targets = prepared.x("train"), prepared.splits.train.y, prepared.y("train")
    for activation, from_logits in EVERY_OUTPUT:
        config = config_from_text(config_text(task, activation, from_logits))
        model = build_model(config, prepared.input_shape)
        compile_model(model, config)
        model.save(tmp_path / "model.keras")
        weights = keras.models.load_model(tmp_path / "model.keras", compile=False).get_weights()
        z, outputs = numpy_forward(weights, x, activation)
        p = loss_probabilities(task, activation, from_logits, z, outputs)
        keras_outputs = model.predict(x, verbose=0)
        measured = float(model.compute_loss(x=x, y=targets, y_pred=model(x)))
        assert measured == pytest.approx(numpy_loss(task, y, p), rel=2e-4), (activation, from_logits)
        if not allowed(task, activation, from_logits):
            continue
        [accuracy] = make_metrics(config)  # the metric train and eval report
        accuracy.update_state(targets, keras_outputs)
        truth = y.reshape(len(y), -1) if task == "multilabel" else y
        assert float(accuracy.result()) == pytest.approx(
            accuracy_score(truth.ravel(), numpy_classes(task, p).ravel())), (activation, from_logits)
        nnlearn_task, reading = prepared.task, outputs_task.output_reading(config)
        assert outputs_task.probabilities(keras_outputs, nnlearn_task, reading) == pytest.approx(p, rel=1e-5, abs=1e-6)
        assert np.array_equal(outputs_task.classes(keras_outputs, nnlearn_task, reading), numpy_classes(task, p))


@pytest.mark.tensorflow
@pytest.mark.filterwarnings(KERAS_SOFTMAX_OVER_ONE_UNIT)
def test_a_softmax_over_one_unit_is_always_1_while_keras_trains_a_sigmoid_behind_it():
    """What validate's error says: the outputs never move from 1; Keras' loss is sigmoid cross-entropy of z."""
    from nnlearn.model.build import build_model, compile_model
    from nnlearn.model.prepare import prepare
    from nnlearn.training.steps import evaluate_arrays

    config = config_from_text(config_text("binary", "softmax", False))
    prepared = prepare(config_from_text(config_text("binary", "linear", True)))
    model = build_model(config, prepared.input_shape)
    compile_model(model, config)
    x = prepared.x("train")
    assert np.array_equal(model.predict(x, verbose=0), np.ones((len(x), 1), dtype=np.float32))
    z, _ = numpy_forward(model.get_weights(), x, "linear")
    y = prepared.splits.train.y
    assert evaluate_arrays(model, x, prepared.y("train"))["loss"] == pytest.approx(
        numpy_loss("binary", y, sigmoid(z)), rel=2e-4)


@pytest.mark.tensorflow
def test_a_sigmoid_output_read_as_probabilities_is_as_stable_as_logits():
    """No "log of a rounded probability" in Keras 3: z = 40 with y = 0 costs 40, not the clipped 16.1."""
    from nnlearn.model.build import keras

    z = keras.ops.convert_to_tensor([[40.0], [-40.0]])
    y = np.array([[0.0], [1.0]], dtype=np.float32)
    through_sigmoid = keras.losses.BinaryCrossentropy(from_logits=False, reduction=None)(
        y, keras.activations.sigmoid(z))
    assert np.asarray(through_sigmoid) == pytest.approx([40.0, 40.0], rel=1e-6)


@pytest.mark.tensorflow
def test_outputs_read_as_probabilities_get_no_gradient_outside_0_to_1():
    """The claim of lint's warning and of validate's error for from_logits: false with an output that is not
    a sigmoid or softmax: an output outside (0, 1) gets no gradient."""
    import tensorflow as tf

    from nnlearn.model.build import keras

    outputs = tf.Variable([[-0.5], [0.3], [1.7], [0.9]])
    y = np.array([[1.0], [1.0], [0.0], [1.0]], dtype=np.float32)
    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy(from_logits=False)(y, outputs)
    gradient = tape.gradient(loss, outputs).numpy().ravel()
    assert gradient[0] == 0 and gradient[2] == 0  # outside: nothing, though both are wrong
    assert gradient[1] < 0 and gradient[3] < 0  # inside: pushed up towards y = 1
    three = tf.Variable([[2.0, -1.0, 0.4], [0.2, 0.3, 0.1]])
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=False)(np.array([1, 2]), three)
    gradient = tape.gradient(loss, three).numpy()
    assert gradient[0, 0] == 0 and gradient[0, 1] == 0 and gradient[0, 2] != 0
    assert np.all(gradient[1] != 0)


# Trained and saved as a learner would: one combination for each way of reading the outputs, by task.
TRAINED = [("binary", "linear", True), ("binary", "sigmoid", False), ("binary", "linear", False),
           ("binary", "relu", True), ("multilabel", "tanh", True), ("multiclass", "softmax", False),
           ("one-hot", "linear", True)]


@pytest.mark.tensorflow
@pytest.mark.parametrize("task, activation, from_logits", TRAINED)
def test_accuracy_confusion_and_predictions_equal_numpy_from_the_saved_weights(task, activation, from_logits,
                                                                               write_config, workdir):
    from sklearn.metrics import accuracy_score, confusion_matrix

    from nnlearn.insight.evaluation import evaluate
    from nnlearn.insight.predict import predict
    from nnlearn.model.build import keras
    from nnlearn.training.train import train

    run = train(write_config(config_text(task, activation, from_logits)), out=workdir / "run")
    weights = keras.models.load_model(run.run_dir / "model.keras", compile=False).get_weights()
    test = run.prepared.splits.test
    z, outputs = numpy_forward(weights, run.prepared.x("test"), activation)
    p = loss_probabilities(task, activation, from_logits, z, outputs)
    if task in ("multiclass", "one-hot"):
        predicted = p.argmax(axis=1)
    else:
        predicted = (p > 0.5).astype(int).reshape(len(test.y), -1)
    truth = test.y.reshape(predicted.shape).astype(int)
    # Keras' accuracy for yes/no outputs is the mean over every label of every row
    assert run.metrics["test"]["accuracy"] == pytest.approx(accuracy_score(truth.ravel(), predicted.ravel()))
    assert run.metrics["test"]["loss"] == pytest.approx(numpy_loss(task, test.y, p), rel=1e-4, abs=1e-6)
    assert len(np.unique(predicted)) > 1  # a model that says one class for everything would prove little
    if activation == "relu":  # lint: never below 0.5; no only with an output of exactly 0
        assert p.min() >= 0.5 and np.array_equal(predicted.ravel() == 0, outputs.ravel() == 0)
    if activation == "tanh":  # lint: no probability above sigmoid(1) = 0.73
        assert p.max() <= sigmoid(1.0)
    if task != "multilabel":
        evaluated = evaluate(RunDir.open(run.run_dir))
        assert evaluated.confusion_matrix == confusion_matrix(truth.ravel(), predicted.ravel()).tolist()
    np.savez(workdir / "rows.npz", x=test.x)
    rows = predict(RunDir.open(run.run_dir), workdir / "rows.npz").rows
    shown = np.array([[row[key] for key in row if key.startswith("p_")] for row in rows])
    expected = np.c_[1 - p, p] if task == "binary" else p
    assert shown == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.tensorflow
@pytest.mark.parametrize("activation, low, high", [("relu", 0, np.inf), ("sigmoid", 0, 1), ("tanh", -1, 1)])
def test_regression_outputs_are_the_predictions_and_stay_in_their_range(activation, low, high, write_config,
                                                                        workdir):
    """The outputs are the predictions, whatever the activation; and lint's claim: a relu, sigmoid or tanh
    output never leaves its range, so targets outside it are never reached."""
    from sklearn.metrics import mean_absolute_error

    from nnlearn.model.build import keras
    from nnlearn.training.train import train
    from nnlearn.workflows.validate import validate_file

    path = write_config(config_text("regression", activation, True))
    [warning] = validate_file(path).warnings
    assert warning.path == "model.layers[1].activation" and ("never be negative" in warning.message
                                                             or "stays within" in warning.message)
    run = train(path, out=workdir / "run")
    weights = keras.models.load_model(run.run_dir / "model.keras", compile=False).get_weights()
    _, outputs = numpy_forward(weights, run.prepared.x("test"), activation)
    assert run.metrics["test"]["mae"] == pytest.approx(
        mean_absolute_error(run.prepared.splits.test.y, outputs.ravel()), rel=1e-4)
    assert low <= outputs.min() and outputs.max() <= high
    targets = run.prepared.splits.test.y
    assert np.any((targets < low) | (targets > high))  # some it can never reach


def refused(write_config, text: str) -> dict:
    result = invoke("validate", str(write_config(text)), "--json")
    assert result.exit_code == 2, result.output
    [problem] = json.loads(result.stdout)["files"][0]["errors"]
    return problem


@pytest.mark.parametrize("task, activation, from_logits, path, fragment, fix", [
    ("binary", "sigmoid", True, "model.layers[1].activation", "contradict", "activation: linear"),
    ("multilabel", "sigmoid", True, "model.layers[1].activation", "contradict", "activation: linear"),
    ("multiclass", "softmax", True, "model.layers[1].activation", "contradict", "from_logits: false"),
    ("binary", "softmax", True, "model.layers[1].activation", "always 1", "activation: sigmoid"),
    ("binary", "softmax", False, "model.layers[1].activation", "always 1", "activation: linear"),
    ("regression", "softmax", True, "model.layers[1].activation", "always 1", "activation: linear"),
    ("multilabel", "softmax", False, "model.layers[1].activation", "train a sigmoid", "activation: sigmoid"),
    ("multiclass", "sigmoid", False, "model.layers[1].activation", "train a softmax", "activation: softmax"),
    ("one-hot", "sigmoid", True, "model.layers[1].activation", "train a softmax", "activation: softmax"),
    ("multiclass", "linear", False, "compile.from_logits", "no gradient", "from_logits: true"),
    ("one-hot", "relu", False, "compile.from_logits", "no gradient", "from_logits: true"),
])
def test_contradictory_outputs_are_errors_with_a_fix(task, activation, from_logits, path, fragment, fix,
                                                     write_config):
    problem = refused(write_config, config_text(task, activation, from_logits))
    assert problem["path"] == path and fragment in problem["message"] and fix in problem["message"]


@pytest.mark.parametrize("task", ["binary", "multilabel", "multiclass", "one-hot"])
def test_validate_refuses_exactly_the_contradictory_outputs(task, write_config):
    for activation, from_logits in EVERY_OUTPUT:
        result = invoke("validate", str(write_config(config_text(task, activation, from_logits))))
        expected = 0 if allowed(task, activation, from_logits) and not (activation == "softmax" and task == "binary") \
            else 2
        assert result.exit_code == expected, (activation, from_logits, result.output)


def test_a_softmax_output_with_from_logits_false_trains_without_a_warning(write_config):
    result = invoke("validate", str(write_config(config_text("multiclass", "softmax", False))), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["files"][0]["warnings"] == []


def test_the_course_mix_up_on_moons_is_refused_before_training_with_its_fix():
    """The issue's case: moons_mlp with a sigmoid output (from_logits: true) used to train, then report
    accuracy 0.5000 and p = 0.5 for every row; now it is refused at once, TensorFlow never loaded."""
    moons = str(CONFIGS / "moons_mlp.yaml")
    for command in ("validate", "train"):
        result = invoke(command, moons, "--set", "model.layers[2].activation=sigmoid")
        assert result.exit_code == 2, result.output
        assert "contradict" in result.output and "model.layers[2].activation=linear" in result.output
