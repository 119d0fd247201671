"""`nnlearn lesson`: one small, real experiment for each idea in the course notes.

Every number a lesson shows is measured when it runs; nothing is typed in.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nnlearn.config.learning_rates import usual_rate
from nnlearn.errors import NnlearnError, RunError
from nnlearn.runs.rundir import RunDir


@dataclass
class LessonResult:
    """What a lesson measured: numbers (each key the lesson's own, for --json), labels (each key as the
    course says it, for the table: a₁, z, J(w,b), ŷ; a dict's entries as "key.entry"), and a note
    said once below the table (what "—" means)."""

    name: str
    title: str
    explanation: str
    numbers: dict = field(default_factory=dict)
    seconds: float = 0.0
    labels: dict = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "explanation": self.explanation,
                "numbers": self.numbers, "labels": self.labels, "note": self.note, "seconds": round(self.seconds, 3)}


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(number: int) -> str:
    """A subscript as the notes write it: a₁ is sub(1) after an a."""
    return str(number).translate(SUBSCRIPTS)


def not_reached(max_epochs: int) -> str:
    """The note for a race: what "—" in its table means."""
    return f"— in the table: the target was not reached within {max_epochs} epochs."


@dataclass
class Lesson:
    name: str
    title: str
    run: Callable[[bool], LessonResult]  # run(quick): quick uses less data and fewer epochs


def _size(quick: bool, full, small):
    """The full experiment's setting, or the quick one's: less data, fewer epochs, same conclusion."""
    return small if quick else full


def _keras():
    from nnlearn.model.build import keras, tf

    return tf, keras


def _scaled(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1)).astype(np.float32)


def _race(contenders: dict[str, Callable], x, y, target: float, max_epochs: int,
          batch_size: int) -> dict[str, float | int | None]:
    """Build each contender (a function returning a compiled model) and train it until its training loss
    reaches target: "<name>_epochs_to_target" (None if never) and "<name>_final_loss"."""
    tf, keras = _keras()
    steps = math.ceil(len(x) / batch_size)
    results: dict[str, float | int | None] = {}
    for number, (name, build) in enumerate(contenders.items()):
        model = build()
        # one call into TensorFlow per epoch (not per batch): the same steps, far less Python in between
        model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=steps)

        class Finish(keras.callbacks.Callback):
            reached, last = None, math.inf
            stage, done = f"training with {name} until the loss reaches {target}", number / len(contenders)

            def on_epoch_end(self, epoch, logs=None):
                self.last = float((logs or {})["loss"])
                _say(self.stage, self.done + (epoch + 1) / max_epochs / len(contenders),
                     f"epoch {epoch + 1}: loss {self.last:.4f}")
                if self.last <= target:
                    self.reached = epoch + 1
                    self.model.stop_training = True

        finish = Finish()
        model.fit(x, y, epochs=max_epochs, batch_size=batch_size, verbose=0, shuffle=False, callbacks=[finish])
        results[f"{name}_epochs_to_target"] = finish.reached
        results[f"{name}_final_loss"] = finish.last
    return results


def logistic_regression(quick: bool = False) -> LessonResult:
    """The three steps by hand in NumPy against a Keras Dense(1) trained the same way."""
    from sklearn.datasets import load_breast_cancer

    tf, keras = _keras()
    data = load_breast_cancer()
    x, y = _scaled(data.data).astype(np.float64), data.target.astype(np.float64)
    steps, rate = _size(quick, 200, 60), 0.5
    w, b = np.zeros(x.shape[1]), 0.0
    _say("gradient descent by hand in NumPy", 0.1)
    for _ in range(steps):  # Step 3 by hand: batch gradient descent
        a = 1 / (1 + np.exp(-(x @ w + b)))            # Step 1: f(x) = sigmoid(w·x + b)
        w -= rate * (x.T @ (a - y)) / len(y)          # Step 2's gradient: dJ/dw = mean((a - y) x)
        b -= rate * float(np.mean(a - y))
    numpy_accuracy = float(np.mean(((x @ w + b) > 0) == (y == 1)))
    _say("the same steps with Keras' Dense(1) and SGD", 0.4)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)),
                              keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.SGD(learning_rate=rate))
    model.fit(x.astype(np.float32), y.astype(np.float32), epochs=steps, batch_size=len(y), verbose=0,
              shuffle=False)
    kernel, bias = (v.numpy() for v in model.layers[0].weights)
    keras_accuracy = float(np.mean((model.predict(x.astype(np.float32), verbose=0)[:, 0] > 0) == (y == 1)))
    return LessonResult("logistic-regression", "Logistic regression: NumPy by hand against Keras",
                        "Step 1 computes a = sigmoid(w·x + b); Step 2's logistic loss has the gradient "
                        "mean((a − y)·x); Step 3 repeats w ← w − α·gradient. Keras' Dense(1) with "
                        "BinaryCrossentropy(from_logits=True) and plain SGD on the whole batch does exactly "
                        f"the same, so the learned w and b agree to float32 precision (the {x.shape[1]} "
                        "features of the breast-cancer data, standardised).",
                        {"steps": steps, "learning_rate": rate, "numpy_b": b, "keras_b": float(bias[0]),
                         "max_abs_w_difference": float(np.max(np.abs(w - kernel[:, 0]))),
                         "numpy_accuracy": numpy_accuracy, "keras_accuracy": keras_accuracy,
                         "features_first3": [str(name) for name in data.feature_names[:3]],
                         "numpy_w_first3": w[:3].tolist(), "keras_w_first3": kernel[:3, 0].tolist()},
                        labels={"steps": "gradient descent steps (each on all the data)",
                                "learning_rate": "learning rate α", "numpy_b": "b, by hand in NumPy",
                                "keras_b": "b, by Keras", "max_abs_w_difference": "largest |w by hand − w by Keras|",
                                "numpy_accuracy": "training accuracy, by hand", "keras_accuracy":
                                "training accuracy, Keras", "features_first3": "feature (3 of 30)",
                                "numpy_w_first3": "w, by hand", "keras_w_first3": "w, by Keras"})


def _two_class_data(name: str, rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    rng = np.random.default_rng(seed)
    if name == "xor":
        x = rng.uniform(-1, 1, size=(rows, 2))
        y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.float32)
        return x.astype(np.float32), y
    x, y = make_moons(rows, noise=0.1, random_state=seed)
    return _scaled(x), y.astype(np.float32)


def _stack(keras, activation: str, seed: int = 0):
    keras.utils.set_random_seed(seed)
    bias = keras.initializers.RandomNormal(stddev=0.5, seed=seed)  # non-zero b, so b visibly adds up too
    return keras.Sequential([keras.Input((2,)),
                             keras.layers.Dense(16, activation=activation, bias_initializer=bias),
                             keras.layers.Dense(16, activation=activation, bias_initializer=bias),
                             keras.layers.Dense(1, bias_initializer=bias)])


def linear_collapse(quick: bool = False) -> LessonResult:
    """Linear layers multiply out into one; they cannot fit xor or moons, ReLU layers can."""
    tf, keras = _keras()
    model = _stack(keras, "linear")
    weights = [layer.get_weights() for layer in model.layers]
    w_total, b_total = np.eye(2), np.zeros(2)
    for kernel, bias in weights:  # a2 = W2(W1 x + b1) + b2 = (W1 W2) x + (b1 W2 + b2)
        w_total, b_total = w_total @ kernel, b_total @ kernel + bias
    x = np.random.default_rng(1).normal(size=(200, 2)).astype(np.float32)
    difference = float(np.max(np.abs(model.predict(x, verbose=0) - (x @ w_total + b_total))))
    accuracies = {}
    for data_name in ("xor", "moons"):
        x_data, y_data = _two_class_data(data_name, rows=_size(quick, 400, 200))
        for activation in ("linear", "relu"):
            net = _stack(keras, activation)
            net.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                        optimizer=keras.optimizers.Adam(0.01), steps_per_execution=math.ceil(len(x_data) / 32))
            _say(f"training the {activation} stack on {data_name}",
                 (("xor", "moons").index(data_name) * 2 + ("linear", "relu").index(activation)) / 4)
            net.fit(x_data, y_data, epochs=_size(quick, 60, 30), batch_size=32, verbose=0)
            predicted = net.predict(x_data, verbose=0)[:, 0] > 0
            accuracies[f"{data_name}_{activation}_accuracy"] = float(np.mean(predicted == (y_data == 1)))
    return LessonResult("linear-collapse", "A stack of linear layers is one linear layer",
                        "Three Dense layers with linear activations multiply out into a single W and b: "
                        "their outputs differ from x·W + b only by float rounding. So the stack can only draw "
                        "a straight line: on xor it is no better than a coin, while the same stack with ReLU "
                        "bends the boundary and fits both datasets.",
                        {"equivalent_W": w_total.tolist(), "equivalent_b": b_total.tolist(),
                         "max_abs_output_difference": difference, **accuracies},
                        labels={"equivalent_W": "W of the one equivalent layer (w₁, w₂)",
                                "equivalent_b": "b of the one equivalent layer",
                                "max_abs_output_difference": "largest |stack's output − (x·W + b)|",
                                **{f"{data}_{activation}_accuracy": f"{data}: accuracy, {name} hidden layers"
                                   for data in ("xor", "moons") for activation, name in
                                   (("linear", "linear"), ("relu", "ReLU"))}})


def relu_vs_sigmoid(quick: bool = False) -> LessonResult:
    """The same network with ReLU and with sigmoid hidden layers: epochs to reach a target loss."""
    tf, keras = _keras()
    x, y = _two_class_data("moons")
    target, max_epochs = _size(quick, (0.25, 200), (0.4, 60))

    def network(activation: str):
        def build():
            model = _stack(keras, activation)
            model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                          optimizer=keras.optimizers.SGD(learning_rate=0.1))
            return model
        return build

    results = _race({"relu": network("relu"), "sigmoid": network("sigmoid")}, x, y, target, max_epochs,
                    batch_size=32)
    return LessonResult("relu-vs-sigmoid", "ReLU learns faster than sigmoid",
                        "The same network (two hidden layers of 16 units) on the moons, from the same "
                        "initial weights, trained with plain gradient descent at the same learning rate "
                        f"0.1 until the cost J(w,b) falls to {target}. Sigmoid's gradient is flat for large "
                        "|z| on both sides, so the steps shrink; ReLU is flat on one side only.",
                        {"target_loss": target, "max_epochs": max_epochs, **results},
                        labels={"target_loss": "target: cost J(w,b) on the training data",
                                "max_epochs": "epochs allowed",
                                **{f"{name}_{what}": f"{shown}: {text}" for name, shown in
                                   (("relu", "ReLU"), ("sigmoid", "sigmoid")) for what, text in
                                   (("epochs_to_target", "epochs to reach the target"),
                                    ("final_loss", "J(w,b) at the end"))}},
                        note=not_reached(max_epochs))


def softmax(quick: bool = False) -> LessonResult:
    """Softmax by hand against tf.nn.softmax; the loss is −log a_y."""
    tf, keras = _keras()
    z = np.array([2.0, 1.0, 0.1, -1.0])
    by_hand = np.exp(z) / np.sum(np.exp(z))
    library = tf.nn.softmax(tf.constant(z)).numpy()
    y = 2  # the course's count: a₁ is class 1, so this is the second class
    keras_loss = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        np.array([y - 1]), z.reshape(1, -1)))
    return LessonResult("softmax", "Softmax turns logits into probabilities",
                        "aₖ = e^zₖ / (e^z₁ + e^z₂ + e^z₃ + e^z₄): every aₖ is positive and together they sum to "
                        f"1. The sparse categorical cross-entropy of a true class y is −log a_y, here −log a{sub(y)}"
                        f": small when the model gives y a high probability. Keras counts classes from 0, so "
                        f"the course's class {y} is Keras' label {y - 1}.",
                        {"class_k": list(range(1, len(z) + 1)), "z": z.tolist(), "softmax_by_hand": by_hand.tolist(),
                         "tf_nn_softmax": library.tolist(), "sum": float(by_hand.sum()),
                         "max_abs_difference": float(np.max(np.abs(by_hand - library))), "true_class": y,
                         "keras_label": y - 1, "minus_log_a_y": float(-np.log(by_hand[y - 1])),
                         "keras_loss": keras_loss},
                        labels={"class_k": "class k", "z": "logit zₖ", "softmax_by_hand": "aₖ by hand",
                                "tf_nn_softmax": "aₖ by tf.nn.softmax", "sum": "a₁ + a₂ + a₃ + a₄",
                                "max_abs_difference": "largest |aₖ by hand − by TensorFlow|",
                                "true_class": "true class y (a₁ is class 1)",
                                "keras_label": "the same class as Keras' label (from 0)",
                                "minus_log_a_y": f"loss −log a{sub(y)}, by hand",
                                "keras_loss": "loss, by Keras (sparse categorical)"})


def from_logits(quick: bool = False) -> LessonResult:
    """softmax-then-log against from_logits, for moderate and extreme logits, with gradients."""
    tf, keras = _keras()
    columns = ("naive_loss", "from_logits_loss", "exact_loss", "naive_gradient_finite",
               "from_logits_gradient_finite")
    numbers: dict = {"case": [], **{column: [] for column in columns}}
    for values in ([2.0, 1.0, 0.1], [1000.0, 0.0, -1000.0]):
        for true_class in (0, 2):  # Keras' labels; the course's classes 1 and 3
            z = tf.Variable(np.array([values], dtype=np.float32))
            with tf.GradientTape(persistent=True) as tape:
                naive = -tf.math.log(tf.exp(z[0, true_class]) / tf.reduce_sum(tf.exp(z)))
                stable = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
                    tf.constant([true_class]), z)
            exact = float(-(values[true_class] - np.max(values) - np.log(np.sum(np.exp(
                np.array(values) - np.max(values)))))) + 0.0  # + 0.0 turns -0.0 into 0.0
            numbers["case"].append(f"z = ({', '.join(f'{value:g}' for value in values)}), y = {true_class + 1}")
            for column, measured in zip(columns, (float(naive), float(stable), exact,
                                                  bool(np.all(np.isfinite(tape.gradient(naive, z)))),
                                                  bool(np.all(np.isfinite(tape.gradient(stable, z)))))):
                numbers[column].append(measured)
    return LessonResult("from-logits", "Why the output layer emits logits (from_logits=True)",
                        "The loss of a true class y is −log a_y, with a = softmax(z). Computing softmax first "
                        "and taking its log overflows: e^1000 is inf in float32, so the naive loss and its "
                        "gradient become nan or inf. With from_logits=True, TensorFlow computes log-softmax "
                        "directly (subtracting the largest logit first), and the loss is exact even for "
                        "extreme logits. (Keras clips probabilities passed with from_logits=False, which "
                        "hides the problem as a wrong, capped loss.)", numbers,
                        labels={"case": "logits z, true class y", "naive_loss": "loss: naive −log(softmax)",
                                "from_logits_loss": "loss: Keras, from_logits", "exact_loss": "loss: exact, by hand",
                                "naive_gradient_finite": "gradient finite? naive",
                                "from_logits_gradient_finite": "gradient finite? from_logits"})


def _trained_logits(keras, x, y, hidden_units: int, outputs: int, loss, epochs: int) -> np.ndarray:
    """One ReLU hidden layer and a logits layer, trained with Adam; its logits for x."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dense(outputs)])
    model.compile(loss=loss, optimizer=keras.optimizers.Adam(0.01), steps_per_execution=math.ceil(len(x) / 32))
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model.predict(x, verbose=0)


def multiclass_vs_multilabel(quick: bool = False) -> LessonResult:
    """Softmax over K classes against one sigmoid per label."""
    from sklearn.datasets import make_blobs, make_multilabel_classification

    tf, keras = _keras()
    rows, epochs = _size(quick, (600, 30), (300, 15))
    x, y = make_blobs(rows, centers=4, n_features=4, random_state=0)
    x = _scaled(x)
    _say("training softmax over 4 classes", 0.1)
    probabilities = tf.nn.softmax(_trained_logits(keras, x, y, 16, 4, keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), epochs)).numpy()
    xl, yl = make_multilabel_classification(rows, n_features=10, n_classes=4, random_state=0)
    xl = _scaled(xl)
    _say("training one sigmoid per label (multi-label)", 0.55)
    label_probabilities = tf.sigmoid(_trained_logits(keras, xl, yl.astype(np.float32), 32, 4,
                                                     keras.losses.BinaryCrossentropy(from_logits=True),
                                                     epochs)).numpy()
    return LessonResult("multiclass-vs-multilabel", "One class of K, or several labels at once",
                        "Multi-class: exactly one class per example, so softmax over K logits (the outputs "
                        "sum to 1) with sparse categorical cross-entropy. Multi-label: each label is its own "
                        "yes/no question, so one sigmoid per label with binary cross-entropy; the outputs "
                        "need not sum to 1, and an example can have several labels.",
                        {"multiclass_accuracy": float(np.mean(probabilities.argmax(axis=1) == y)),
                         "multilabel_labels_per_example": float(yl.sum(axis=1).mean()),
                         "multilabel_per_label_accuracy": float(np.mean((label_probabilities > 0.5) == yl)),
                         "example": [1, 2, 3],
                         "multiclass_output_sums_first3": probabilities.sum(axis=1)[:3].tolist(),
                         "multilabel_output_sums_first3": label_probabilities.sum(axis=1)[:3].tolist()},
                        labels={"multiclass_accuracy": "multi-class: accuracy on the training data",
                                "multilabel_labels_per_example": "multi-label: true labels per example (mean)",
                                "multilabel_per_label_accuracy": "multi-label: accuracy of each yes/no label",
                                "example": "example",
                                "multiclass_output_sums_first3": "multi-class: a₁ + a₂ + a₃ + a₄ (softmax)",
                                "multilabel_output_sums_first3": "multi-label: a₁ + a₂ + a₃ + a₄ (sigmoids)"})


def adam_vs_gd(quick: bool = False) -> LessonResult:
    """The same model from the same start with sgd and with adam: epochs to a target loss."""
    from sklearn.datasets import load_digits

    tf, keras = _keras()
    digits = load_digits()
    x, y = _scaled(digits.data), digits.target
    target, max_epochs = _size(quick, (0.1, 100), (0.5, 15))

    rates = {name: usual_rate(name) for name in ("sgd", "adam")}  # each its usual rate: 0.01 and 0.001

    def network(optimizer, rate: float):
        def build():
            keras.utils.set_random_seed(0)  # the same initial weights for both
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(25, activation="relu"),
                                      keras.layers.Dense(10)])
            model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          optimizer=optimizer(learning_rate=rate))
            return model
        return build

    results = _race({"sgd": network(keras.optimizers.SGD, rates["sgd"]),
                     "adam": network(keras.optimizers.Adam, rates["adam"])}, x, y, target, max_epochs, batch_size=64)
    return LessonResult("adam-vs-gd", "Adam against plain gradient descent",
                        "The same network and the same initial weights on the digits, each optimizer at its "
                        "own usual learning rate (plain gradient descent 0.01, Adam 0.001: Keras' defaults and "
                        f"nnlearn's), trained until the cost J(w,b) reaches {target}. Plain gradient descent "
                        "takes a step of α × the gradient for every parameter; Adam adapts each parameter's "
                        "step from the history of its gradients, and gets there much sooner even from a ten "
                        "times smaller α.",
                        {"target_loss": target, "sgd_learning_rate": rates["sgd"],
                         "adam_learning_rate": rates["adam"], **results},
                        labels={"target_loss": "target: cost J(w,b) on the training data",
                                **{f"{name}_{what}": f"{shown}: {text}" for name, shown in
                                   (("sgd", "gradient descent"), ("adam", "Adam")) for what, text in
                                   (("learning_rate", "learning rate α"), ("epochs_to_target", "epochs to the target"),
                                    ("final_loss", "J(w,b) at the end"))}},
                        note=not_reached(max_epochs))


def dense_vs_conv(quick: bool = False) -> LessonResult:
    """A dense network and a CNN on the digits: parameters and test accuracy."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    tf, keras = _keras()
    digits = load_digits()
    x = _scaled(digits.data)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0,
                                                        stratify=digits.target)
    results = {}
    for name, layers, shape in (
            ("dense", [keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)], (64,)),
            ("conv", [keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
                      keras.layers.MaxPooling2D(2), keras.layers.Conv2D(16, 3, activation="relu"),
                      keras.layers.Flatten(), keras.layers.Dense(10)], (8, 8, 1))):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape), *layers])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=keras.optimizers.Adam(0.002), metrics=["accuracy"],
                      steps_per_execution=math.ceil(len(x_train) / 32))
        _say(f"training the {name} network on the digits", 0.5 if name == "conv" else 0.0)
        model.fit(x_train.reshape((-1,) + shape), y_train, epochs=_size(quick, 25, 8), batch_size=32, verbose=0)
        results[f"{name}_params"] = int(model.count_params())
        results[f"{name}_test_accuracy"] = float(model.evaluate(x_test.reshape((-1,) + shape), y_test,
                                                                verbose=0, return_dict=True)["accuracy"])
    return LessonResult("dense-vs-conv", "Dense layers against convolutional layers",
                        "A dense unit looks at every pixel; a convolutional unit looks at a small window and "
                        "shares its weights across the image. On the 8×8 digits the CNN needs fewer "
                        "parameters for a similar or better test accuracy.", results,
                        labels={"dense_params": "dense network: parameters (w and b)",
                                "dense_test_accuracy": "dense network: test accuracy",
                                "conv_params": "CNN: parameters (w and b)", "conv_test_accuracy": "CNN: test accuracy"})


def derivative(quick: bool = False) -> LessonResult:
    """J(w,b) nudged by ε = 0.001 in w₁ changes by about k·ε, with k = ∂J/∂w₁ from the tape."""
    tf, keras = _keras()
    rows, targets = [[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]], [1.0, 0.0, 1.0]
    weights, bias = [0.3, -0.2], 0.1
    x = tf.constant(rows, dtype=tf.float64)
    y = tf.constant([[target] for target in targets], dtype=tf.float64)
    w = tf.Variable([[weight] for weight in weights], dtype=tf.float64)
    b = tf.constant(bias, dtype=tf.float64)

    def cost():  # Step 2: the mean logistic loss of a = sigmoid(w·x + b) over the three examples
        a = tf.sigmoid(x @ w + b)
        return tf.reduce_mean(-y * tf.math.log(a) - (1 - y) * tf.math.log(1 - a))

    with tf.GradientTape() as tape:
        j = cost()
    k = float(tape.gradient(j, w)[0, 0])
    epsilon = 0.001
    w.assign_add([[epsilon], [0.0]])
    j_nudged = float(cost())
    return LessonResult("derivative", "What a derivative means: nudge w, watch J",
                        "The model a = sigmoid(w₁x₁ + w₂x₂ + b) and its logistic cost J(w,b) on three examples. "
                        "If ∂J/∂w₁ = k, then increasing w₁ by ε = 0.001 (w₂ and b kept) changes J by about "
                        "k × 0.001. GradientTape computes k exactly; the nudge measures it. Backpropagation is "
                        "this, for every parameter at once.",
                        {"w1": weights[0], "w2": weights[1], "b": bias, "epsilon": epsilon, "J": float(j),
                         "J_nudged": j_nudged, "change_in_J": j_nudged - float(j), "k_from_tape": k,
                         "k_times_epsilon": k * epsilon,
                         "relative_difference": abs((j_nudged - float(j)) - k * epsilon) / abs(k * epsilon),
                         "example": [1, 2, 3], "x1": [row[0] for row in rows], "x2": [row[1] for row in rows],
                         "y": targets},
                        labels={"w1": "w₁", "w2": "w₂", "b": "b", "epsilon": "ε, the nudge to w₁",
                                "J": "J(w,b)", "J_nudged": "J(w,b) with w₁ + ε", "change_in_J": "change in J",
                                "k_from_tape": "k = ∂J/∂w₁, from GradientTape", "k_times_epsilon": "k × ε",
                                "relative_difference": "|change in J − k × ε| / |k × ε|", "example": "example",
                                "x1": "x₁", "x2": "x₂", "y": "y"})


BACKPROP_LABELS = {"layer": "layer", "units": "units", "nodes_N": "N: units (nodes) with weights",
                   "params_P": "P: parameters (w and b)",
                   "backprop_steps_N_plus_P": "N + P: backpropagation's steps, about",
                   "finite_difference_steps_N_times_P": "N × P: finite differences' steps, about",
                   "backward_passes": "backpropagation: backward passes",
                   "finite_difference_forward_passes": "finite differences: forward passes (2P)",
                   "max_abs_gradient_difference": "largest |∂J/∂w backprop − finite diff.|",
                   "largest_gradient": "largest |∂J/∂w|",
                   "backward_seconds": "backpropagation: seconds",
                   "finite_difference_seconds": "finite differences: seconds",
                   "speedup": "backpropagation was faster by (times)"}


def backprop_cost(quick: bool = False) -> LessonResult:
    """One backward pass against finite differences: the same gradient, at very different costs."""
    tf, keras = _keras()
    keras.utils.set_random_seed(0)
    units = _size(quick, (4, 16, 16, 1), (4, 8, 8, 1))
    model = keras.Sequential([keras.Input((units[0],), dtype="float64"),  # float64: exact finite differences
                              keras.layers.Dense(units[1], activation="relu", dtype="float64"),
                              keras.layers.Dense(units[2], activation="relu", dtype="float64"),
                              keras.layers.Dense(units[3], dtype="float64")])
    x = tf.random.stateless_normal((32, units[0]), seed=[0, 1], dtype=tf.float64)
    y = tf.random.stateless_normal((32, 1), seed=[0, 2], dtype=tf.float64)
    def loss(y_true, y_predicted):  # J = mean((f(x) − y)²), in float64 like the model
        return tf.reduce_mean(tf.square(y_predicted - y_true))

    nodes, params = sum(units[1:]), int(model.count_params())

    @tf.function
    def cost():
        return loss(y, model(x))

    cost()
    clock = time.perf_counter()
    with tf.GradientTape() as tape:
        value = loss(y, model(x))
    backprop = [gradient.numpy().reshape(-1) for gradient in tape.gradient(value, model.trainable_variables)]
    backward_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    forward_passes, epsilon, largest_difference = 0, 1e-5, 0.0
    for variable, exact in zip(model.trainable_variables, backprop):
        original = variable.numpy()
        flat = original.reshape(-1)
        _say("finite differences, one weight at a time", forward_passes / (2 * params), f"{forward_passes} forward "
             f"passes so far, against 1 backward pass")
        for index in range(flat.size):  # (J(w + ε) − J(w − ε)) / 2ε, one weight at a time
            costs = []
            for sign in (1, -1):
                nudged = flat.copy()
                nudged[index] += sign * epsilon
                variable.assign(nudged.reshape(original.shape))
                costs.append(float(cost()))
                forward_passes += 1
            estimate = (costs[0] - costs[1]) / (2 * epsilon)
            largest_difference = max(largest_difference, abs(estimate - float(exact[index])))
        variable.assign(original)
    finite_seconds = time.perf_counter() - clock
    return LessonResult("backprop-cost", "Why backpropagation: N + P steps, not N × P",
                        f"A network with N = {nodes} units and P = {params} parameters. Backpropagation "
                        "gets every dJ/dw in one forward and one backward pass through the computational "
                        "graph (about N + P steps). Finite differences need two forward passes per "
                        "parameter, each of which touches the whole network (about N × P steps); both give "
                        "the same gradient, up to the finite difference's own error.",
                        {"layer": ["input", "hidden 1", "hidden 2", "output"], "units": list(units),
                         "nodes_N": nodes, "params_P": params, "backprop_steps_N_plus_P": nodes + params,
                         "finite_difference_steps_N_times_P": nodes * params,
                         "backward_passes": 1, "finite_difference_forward_passes": forward_passes,
                         "max_abs_gradient_difference": largest_difference,
                         "largest_gradient": float(max(np.max(np.abs(g)) for g in backprop)),
                         "backward_seconds": backward_seconds, "finite_difference_seconds": finite_seconds,
                         "speedup": finite_seconds / backward_seconds if backward_seconds else None},
                        labels=BACKPROP_LABELS)


_listener: Callable[[str, float, str], None] | None = None  # set by run_lesson: the CLI's live progress


def _say(stage: str, fraction: float = 0.0, detail: str = "") -> None:
    """Tell whoever watches what is being measured now (stage), how far the lesson is (0 to 1), and the
    latest number (detail). Silent when nobody listens (library use, tests)."""
    if _listener is not None:
        _listener(stage, min(max(fraction, 0.0), 1.0), detail)


BIAS_VARIANCE_LABELS = {"train_examples": "m: training examples", "validation_examples":
                        "validation examples (for J_cv)", "params": "parameters (w and b)",
                        "steps": "epochs (one gradient step each, on all m)", "lambdas": "λ (Keras' l2)",
                        "train_loss": "J_train (no λ term)", "validation_loss": "J_cv",
                        "train_error": "training error", "validation_error": "validation error",
                        "sum_squared_weights": "Σw²", "best_lambda": "λ with the lowest J_cv",
                        "lambda_in_course_terms": "the course's λ (2m × Keras' λ)",
                        "keras_l2_penalty": "λ·Σw² (Keras' L2 term)", "epochs_measured": "epoch",
                        "no_regularization_train_loss_by_epoch": "λ = 0: J_train",
                        "no_regularization_validation_loss_by_epoch": "λ = 0: J_cv"}


def bias_variance(quick: bool = False) -> LessonResult:
    """An over-parameterised network on a few noisy points, trained with λ over a range."""
    from sklearn.datasets import make_moons

    tf, keras = _keras()
    x, y = make_moons(60 + 400, noise=0.35, random_state=0)  # 60 to train on, 400 to validate
    mean, std = x[:60].mean(axis=0), x[:60].std(axis=0)
    x = ((x - mean) / std).astype(np.float32)
    y = y.astype(np.float32).reshape(-1, 1)
    x_train, y_train, x_validation, y_validation = x[:60], y[:60], x[60:], y[60:]
    lambdas = _size(quick, [0.0, 0.0001, 0.001, 0.01, 0.1], [0.0, 0.001, 0.01, 0.1])
    steps, every = _size(quick, (600, 50), (300, 50))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])  # 4,417 w and b
    kernels = [layer.kernel for layer in model.layers]
    initial = model.get_weights()
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    strength = tf.Variable(0.0)

    @tf.function
    def step():  # one gradient step on the whole training set: J = loss + λ·Σw² (Keras' L2(λ) term)
        with tf.GradientTape() as tape:
            penalty = strength * tf.add_n([tf.reduce_sum(tf.square(kernel)) for kernel in kernels])
            cost = loss(y_train, model(x_train, training=True)) + penalty
        optimizer.apply_gradients(zip(tape.gradient(cost, model.trainable_variables), model.trainable_variables))

    def measured(x_split, y_split) -> tuple[float, float]:  # J without the penalty, and the error rate
        logits = model(x_split)
        return float(loss(y_split, logits)), float(np.mean((logits.numpy() > 0) != (y_split == 1)))

    numbers: dict = {"train_examples": 60, "validation_examples": 400, "params": int(model.count_params()),
                     "steps": steps, "lambdas": lambdas}
    rows = []
    for index, value in enumerate(lambdas):
        model.set_weights(initial)  # every λ starts from the same weights, with a fresh Adam
        for variable in optimizer.variables:
            if not variable.path.endswith("learning_rate"):
                variable.assign(tf.zeros_like(variable))
        strength.assign(value)
        curve_train, curve_validation = [], []
        for number in range(1, steps + 1):
            step()
            if number % every == 0:
                curve_train.append(measured(x_train, y_train)[0])
                curve_validation.append(measured(x_validation, y_validation)[0])
        (train_loss, train_error), (validation_loss, validation_error) = (measured(x_train, y_train),
                                                                           measured(x_validation, y_validation))
        squares = float(sum(np.sum(kernel.numpy().astype(np.float64) ** 2) for kernel in kernels))
        keras_penalty = float(sum(keras.regularizers.L2(value)(kernel) for kernel in kernels))
        rows.append((value, train_loss, validation_loss, train_error, validation_error, squares,
                     curve_train, curve_validation, keras_penalty))
        _say("training the over-parameterised network at each λ", (index + 1) / len(lambdas),
             f"λ = {value:<7g} J_train {train_loss:.3f}  J_cv {validation_loss:.3f}  "
             f"error train {train_error:.3f}  validation {validation_error:.3f}  Σw² {squares:.3g}")
    return _bias_variance_result(numbers, rows, every)


def _bias_variance_result(numbers: dict, rows: list[tuple], every: int) -> LessonResult:
    """The bias-variance lesson's numbers from its rows (λ, J_train, J_cv, training error, validation
    error, Σw², J_train by epoch, J_cv by epoch, Keras' L2 penalty), one row per λ."""
    for key, column in (("train_loss", 1), ("validation_loss", 2), ("train_error", 3), ("validation_error", 4),
                        ("sum_squared_weights", 5)):
        numbers[key] = [row[column] for row in rows]
    best = min(rows, key=lambda row: row[2])
    numbers["best_lambda"] = best[0]
    numbers["lambda_in_course_terms"] = [2 * 60 * row[0] for row in rows]  # λ_course = 2m·λ_keras
    numbers["epochs_measured"] = list(range(every, numbers["steps"] + 1, every))
    numbers["no_regularization_train_loss_by_epoch"] = rows[0][6]
    numbers["no_regularization_validation_loss_by_epoch"] = rows[0][7]
    numbers["best_lambda_validation_loss_by_epoch"] = best[7]
    numbers["keras_l2_penalty"] = [row[8] for row in rows]  # Keras' own L2(λ) of the trained weights
    return LessonResult("bias-variance", "Bias and variance: regularization λ from overfitting to underfitting",
                        f"A network with {numbers['params']:,} parameters learns 60 noisy points (each step on the "
                        "whole training set, Adam). The cost is J + λ·Σw², Keras' L2(λ); the course writes "
                        "λ/2m·Σw², so the course's λ is 2m = 120 times Keras'. With λ = 0 the network memorises "
                        "the training points: J_train falls towards 0 while J_cv (400 new points) climbs as the "
                        "epochs go on (high variance, overfitting). A large λ forces every weight towards 0: the "
                        "network predicts about 0.5 everywhere, so J_train and J_cv are both near ln 2 = 0.693 "
                        "(high bias, underfitting). In between, J_cv is lowest: that λ is the one to pick, by "
                        "validation.", numbers,
                        labels={**BIAS_VARIANCE_LABELS, "best_lambda_validation_loss_by_epoch":
                                f"λ = {best[0]:g}: J_cv"})


def learning_rate(quick: bool = False) -> LessonResult:
    """The same model with a too-small, a good and a too-large learning rate."""
    from sklearn.datasets import make_regression

    tf, keras = _keras()
    x, y = make_regression(200, n_features=3, noise=10.0, random_state=0)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)
    y = (y / y.std()).astype(np.float32).reshape(-1, 1)
    epochs = _size(quick, 40, 25)
    rates = {"too_small": 0.001, "good": 0.3, "too_large": 1.2}
    augmented = np.c_[x, np.ones(len(x))].astype(np.float64)
    # the largest eigenvalue of J's Hessian: plain gradient descent diverges above 2 / curvature
    curvature = float(np.linalg.eigvalsh(2 * augmented.T @ augmented / len(x)).max())
    numbers: dict = {"epochs": epochs, "learning_rates": rates, "largest_curvature": curvature,
                     "diverges_above": 2 / curvature, "epochs_measured": list(range(epochs + 1))}
    loss = keras.losses.MeanSquaredError()
    for index, (name, rate) in enumerate(rates.items()):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
        optimizer = keras.optimizers.SGD(learning_rate=rate)
        history = []  # history[k]: the cost after k epochs, so history[0] is before any step
        for _ in range(epochs):  # one step per epoch on the whole training set: plain gradient descent
            with tf.GradientTape() as tape:
                cost = loss(y, model(x))
            history.append(float(cost))
            optimizer.apply_gradients(zip(tape.gradient(cost, model.trainable_variables), model.trainable_variables))
        history.append(float(loss(y, model(x))))
        numbers[f"{name}_loss_by_epoch"] = history
        _say("gradient descent at each learning rate", (index + 1) / len(rates),
             f"learning rate {rate:<5g} loss {history[0]:.4g} → {history[-1]:.4g}")
    return LessonResult("learning-rate", "The learning rate: too small, good, too large",
                        "Gradient descent takes steps of α × the gradient. Too small (α = 0.001): the cost "
                        "barely moves in the time given. Good (α = 0.3): it falls quickly to the noise level. "
                        "Too large (α = 1.2): every step overshoots the bottom of the bowl by more than it "
                        "started, so the cost grows each epoch (it diverges). For this cost the border is "
                        "exactly α = 2 / (the largest curvature of J), measured here from the data. Adam "
                        "adapts each parameter's step, but its initial learning rate still sets the scale: "
                        "there is still a need to set a learning rate. `nnlearn lr-find CONFIG` finds one "
                        "for any config.", numbers,
                        labels={"epochs": "epochs (one gradient step each, on all the data)",
                                **{f"learning_rates.{name}": f"α {name.replace('_', ' ')}" for name in rates},
                                "largest_curvature": "largest curvature of J(w,b)",
                                "diverges_above": "α above which it diverges (2 / curvature)",
                                "epochs_measured": "epoch",
                                **{f"{name}_loss_by_epoch": f"J(w,b) at α = {rate:g}" for name, rate in rates.items()}})


DATA_PARALLEL_CONFIG = """\
name: data-parallel
seed: 0
data: {{source: moons, n_samples: {rows}, noise: 0.2}}
model:
  layers:
    - {{type: dense, units: 16, activation: relu}}
    - {{type: dense, units: 1}}
compile: {{loss: binary_crossentropy, optimizer: {{learning_rate: 0.01}}}}
fit: {{epochs: {epochs}, batch_size: 64}}
"""


DATA_PARALLEL_LABELS = {"rows": "rows of data", "epochs": "epochs", "batch_size": "batch size",
                        "per_worker_batch_size": "rows of each batch per worker",
                        "weight": "weight", "gradient_of_64_rows": "∂J/∂w over 64 rows",
                        "mean_of_two_32_row_gradients": "mean of two 32-row ∂J/∂w",
                        **{f"{name}_{what}": f"{shown}: {text}" for name, shown in
                           (("one_worker", "one worker"), ("two_workers", "two workers")) for what, text in
                           (("process_seconds", "seconds, whole process"),
                            ("training_seconds", "seconds training"), ("test_accuracy", "test accuracy"),
                            ("loss_by_epoch", "J(w,b)"))},
                        "max_abs_loss_difference": "largest |J one worker − J two workers|"}


def data_parallel(quick: bool = False) -> LessonResult:
    """One worker with batches of 64 against two workers with 32 rows of each batch."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path


    rows, epochs = _size(quick, 2000, 400), _size(quick, 20, 5)
    # the identity behind it, in NumPy: the mean gradient over 64 rows is the mean of two halves' means
    generator = np.random.default_rng(0)
    x, y, w = generator.normal(size=(64, 3)), generator.integers(0, 2, 64), generator.normal(size=3)

    def gradient(x_part, y_part):  # of the logistic loss, mean over the rows
        return x_part.T @ (1 / (1 + np.exp(-x_part @ w)) - y_part) / len(x_part)

    numbers: dict = {"rows": rows, "epochs": epochs, "batch_size": 64, "per_worker_batch_size": 32,
                     "weight": ["w₁", "w₂", "w₃"], "gradient_of_64_rows": gradient(x, y).tolist(),
                     "mean_of_two_32_row_gradients": ((gradient(x[:32], y[:32]) + gradient(x[32:], y[32:])) / 2
                                                      ).tolist()}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "data_parallel.yaml"
        config.write_text(DATA_PARALLEL_CONFIG.format(rows=rows, epochs=epochs))
        for index, (name, extra) in enumerate((("one_worker", []), ("two_workers", ["--workers", "2"]))):
            _say("training with " + name.replace("_", " "), index / 2)
            clock = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "nnlearn", "train", str(config), *extra, "--out",
                                   str(Path(folder) / name), "--json", "--no-plots", "--quiet"],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RunError(f"the {name.replace('_', ' ')} run failed: {done.stderr.strip()[-400:]}")
            run = json.loads(done.stdout)
            numbers[f"{name}_process_seconds"] = time.perf_counter() - clock
            numbers[f"{name}_training_seconds"] = run["seconds"]
            numbers[f"{name}_test_accuracy"] = run["metrics"]["test"]["accuracy"]
            numbers[f"{name}_loss_by_epoch"] = [row["loss"] for row in RunDir(Path(folder) / name).history()]
            _say("training with " + name.replace("_", " "), (index + 1) / 2,
                 f"loss {numbers[f'{name}_loss_by_epoch'][-1]:.4f} in {run['seconds']:.1f} s")
    numbers["max_abs_loss_difference"] = float(max(abs(a - b) for a, b in zip(
        numbers["one_worker_loss_by_epoch"], numbers["two_workers_loss_by_epoch"])))
    return LessonResult("data-parallel", "Data parallelism: two workers with half a batch each take the same steps",
                        "Each worker holds a copy of the weights and computes the gradient of the mean loss over "
                        "its 32 rows of every 64-row batch; tf.distribute sums the two gradients, each divided "
                        "by 2, so both workers apply the gradient of the mean over all 64 rows (the NumPy "
                        "check: the two numbers agree), and their weights stay identical. The loss per epoch of "
                        "one process with batches of 64 and of two workers (processes talking over 127.0.0.1) "
                        "agree up to float32 rounding: the two halves are summed in another order. It is not "
                        "faster here: the two workers share the same CPU cores that one process already uses, "
                        "and every step waits for an all-reduce through the network stack, which costs more "
                        "than half of this tiny model's step saves. On several machines (or GPUs), each with "
                        "its own cores, and a model whose step takes far longer than exchanging its gradients, "
                        "N workers take a step in about 1/N of the time, or learn from N times the data in the "
                        "same time.", numbers,
                        labels=DATA_PARALLEL_LABELS)


LESSONS = [
    Lesson("logistic-regression", "the three steps by hand in NumPy against Keras' Dense(1)", logistic_regression),
    Lesson("linear-collapse", "linear layers multiply out into one; ReLU layers do not", linear_collapse),
    Lesson("relu-vs-sigmoid", "epochs to a target loss with ReLU and with sigmoid", relu_vs_sigmoid),
    Lesson("softmax", "softmax by hand, probabilities that sum to 1, loss = −log a_y", softmax),
    Lesson("from-logits", "why outputs are logits: the naive loss overflows", from_logits),
    Lesson("multiclass-vs-multilabel", "softmax over K classes against a sigmoid per label",
           multiclass_vs_multilabel),
    Lesson("adam-vs-gd", "Adam against plain gradient descent from the same start", adam_vs_gd),
    Lesson("dense-vs-conv", "a dense network and a CNN on the digits", dense_vs_conv),
    Lesson("derivative", "nudge w by 0.001 and J moves by k × 0.001", derivative),
    Lesson("backprop-cost", "one backward pass against finite differences", backprop_cost),
    Lesson("bias-variance", "training and validation error against the regularization λ", bias_variance),
    Lesson("learning-rate", "a too-small, a good and a too-large learning rate", learning_rate),
    Lesson("data-parallel", "one worker with batches of 64 against two workers with 32 each", data_parallel),
]


def find_lesson(name: str) -> Lesson:
    for lesson in LESSONS:
        if lesson.name == name:
            return lesson
    import difflib

    names = [lesson.name for lesson in LESSONS]
    # "relu" means relu-vs-sigmoid: a lesson whose name holds the word, else the closest spelling
    guess = [known for known in names if name and name.lower() in known.split("-")] or \
        difflib.get_close_matches(name, names, n=1)
    raise NnlearnError(f"there is no lesson {name!r}.", hint=f"did you mean {guess[0]!r}?" if guess else
                       "run `nnlearn lesson` for the list.")


def run_lesson(name: str, quick: bool = False, progress: Callable[[str, float, str], None] | None = None
               ) -> LessonResult:
    """Run one lesson; quick shrinks its data and epochs (for tests), keeping what it shows.
    progress(stage, fraction, detail) hears what is being measured while it runs."""
    global _listener
    lesson = find_lesson(name)
    clock = time.perf_counter()
    _listener = progress
    try:
        _say("importing TensorFlow", 0.0)
        result = lesson.run(quick)
    finally:
        _listener = None
    result.seconds = time.perf_counter() - clock
    return result
