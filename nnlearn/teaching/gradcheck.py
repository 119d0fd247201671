"""`nnlearn gradcheck`: backpropagation against finite differences, in float64.

For each weight tensor, the gradient from one backward pass (GradientTape) is compared with central
differences (J(w + ε) − J(w − ε)) / 2ε, ε = 1e-3: "if w increases by 0.001, J changes by k · 0.001".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnlearn.model.prepare import Prepared

EPSILON = 1e-3
TOLERANCE = 1e-4
BATCH_ROWS = 16
KINK_BUDGET = 2048  # ReLU units in the batch; more make a nudge of 1e-3 likely to cross a kink
MAX_CHECKED_PER_TENSOR = 40


@dataclass
class TensorCheck:
    layer: str
    tensor: str
    params: int
    checked: int
    relative_error: float
    kinks_skipped: int = 0

    @property
    def passed(self) -> bool:
        return self.relative_error <= TOLERANCE

    def to_json(self) -> dict:
        return {"layer": self.layer, "tensor": self.tensor, "params": self.params, "checked": self.checked,
                "kinks_skipped": self.kinks_skipped, "relative_error": self.relative_error,
                "passed": self.passed}


@dataclass
class GradCheck:
    tensors: list[TensorCheck] = field(default_factory=list)
    total_params: int = 0
    forward_evaluations: int = 0
    backward_seconds: float = 0.0
    finite_difference_seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.tensors)

    def to_json(self) -> dict:
        return {"passed": self.passed, "epsilon": EPSILON, "tolerance": TOLERANCE,
                "tensors": [check.to_json() for check in self.tensors], "total_params": self.total_params,
                "finite_difference_evaluations_done": self.forward_evaluations,
                "finite_difference_evaluations_for_all_params": 2 * self.total_params,
                "backward_passes": 1, "backward_seconds": self.backward_seconds,
                "finite_difference_seconds": self.finite_difference_seconds}


def relative_error(backprop: np.ndarray, numeric: np.ndarray) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, tiny): 0 when they agree, about 1 when they do not."""
    scale = np.linalg.norm(backprop) + np.linalg.norm(numeric)
    return float(np.linalg.norm(backprop - numeric) / scale) if scale > 1e-12 else 0.0


def gradcheck(prepared: Prepared, max_checked: int = MAX_CHECKED_PER_TENSOR) -> GradCheck:
    """Check every weight tensor (up to max_checked entries of each, chosen with the seed)."""
    from nnlearn.model import build as tf_model

    keras = tf_model.keras
    previous_floatx, previous_policy = keras.backend.floatx(), keras.config.dtype_policy()
    keras.backend.set_floatx("float64")  # the model and the loss both compute in float64
    keras.config.set_dtype_policy("float64")  # the policy is cached once any model was built
    try:
        return _check(tf_model, prepared, max_checked)
    finally:
        keras.backend.set_floatx(previous_floatx)
        keras.config.set_dtype_policy(previous_policy)


def _check(tf_model, prepared: Prepared, max_checked: int) -> GradCheck:
    tf = tf_model.tf
    config = prepared.config
    model = tf_model.build_model(config, prepared.input_shape)
    loss_function = tf_model.make_loss(config)
    assert all(variable.dtype == "float64" for variable in model.trainable_variables)
    x, y = _batch(tf, prepared)
    probe, pools = _probe(tf_model, model)

    def cost_and_pattern() -> tuple[float, list[np.ndarray]]:
        outputs = probe(x, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        return (float(loss_function(y, outputs[0])),
                [_pattern(tf, pools, index, value) for index, value in enumerate(outputs[1:])])

    result = GradCheck(total_params=model.count_params())
    clock = time.perf_counter()
    with tf.GradientTape() as tape:
        value = loss_function(y, model(x, training=False))  # dropout off: J must be a fixed function
    gradients = tape.gradient(value, model.trainable_variables)
    result.backward_seconds = time.perf_counter() - clock
    rng = np.random.default_rng(config.seed)
    clock = time.perf_counter()
    for variable, gradient in zip(model.trainable_variables, gradients):
        flat_size = int(np.prod(variable.shape))
        picks = rng.choice(flat_size, size=min(max_checked, flat_size), replace=False)
        result.tensors.append(_check_tensor(variable, gradient.numpy().reshape(-1), picks, cost_and_pattern))
        result.forward_evaluations += 2 * len(picks)
    result.finite_difference_seconds = time.perf_counter() - clock
    return result


def _batch(tf, prepared: Prepared):
    """The training rows checked, in float64: few enough that the ReLU kinks they cross stay within
    KINK_BUDGET."""
    config = prepared.config
    relu_units = sum(int(np.prod(shape.output_shape)) for layer, shape in
                     zip(config.model.layers, prepared.layers) if getattr(layer, "activation", None) == "relu")
    rows = max(1, min(BATCH_ROWS, len(prepared.splits.train), KINK_BUDGET // max(1, relu_units)))
    x = tf.constant(prepared.x("train")[:rows], dtype=tf.float64)
    y = tf.constant(np.asarray(prepared.y("train")[:rows]), dtype=tf.float64 if
                    config.compile.loss != "sparse_categorical_crossentropy" else tf.int64)
    return x, y


def _probe(tf_model, model):
    """A model that also returns what decides a kink: each ReLU layer's output, and each max-pooling layer's
    input. A nudge that flips a ReLU on or off, or changes which input a max-pooling window picks, crosses a
    kink where J has no derivative: such entries are skipped (and counted), since finite differences there
    measure the kink, not backpropagation. Returns (the probe, [(its output index, the pooling layer)])."""
    watched, pools = [], []
    for index, layer in enumerate(model.layers):
        if layer.get_config().get("activation") == "relu":
            watched.append(layer.output)
        if layer.__class__.__name__ in ("MaxPooling1D", "MaxPooling2D"):
            watched.append(model.layers[index - 1].output if index else model.inputs[0])
            pools.append((len(watched) - 1, layer))
    return tf_model.keras.Model(model.inputs, [model.outputs[0], *watched]), pools


def _pattern(tf, pools: list, index: int, value) -> np.ndarray:
    """Which ReLUs are on, or which input each max-pooling window picks."""
    for position, layer in pools:
        if position == index:
            settings = layer.get_config()
            pool_size, strides = list(settings["pool_size"]), list(settings["strides"])
            if len(pool_size) == 1:  # a sequence (rows, steps, channels) is pooled as an image 1 wide
                value, pool_size, strides = tf.expand_dims(value, 2), pool_size + [1], strides + [1]
            _, argmax = tf.nn.max_pool_with_argmax(value, [1, *pool_size, 1], [1, *strides, 1],
                                                   settings["padding"].upper())
            return np.asarray(argmax)
    return np.asarray(value) > 0


def _check_tensor(variable, all_analytic: np.ndarray, picks, cost_and_pattern) -> TensorCheck:
    """Central differences J(w + ε) − J(w − ε) / 2ε against backpropagation, at the picked entries."""
    original = variable.numpy()
    numeric, analytic, kinks = [], [], 0
    for index in picks:
        nudged = original.copy().reshape(-1)
        nudged[index] += EPSILON
        variable.assign(nudged.reshape(original.shape))
        plus, plus_pattern = cost_and_pattern()
        nudged[index] -= 2 * EPSILON
        variable.assign(nudged.reshape(original.shape))
        minus, minus_pattern = cost_and_pattern()
        if any(not np.array_equal(a, b) for a, b in zip(plus_pattern, minus_pattern)):
            kinks += 1
            continue
        numeric.append((plus - minus) / (2 * EPSILON))
        analytic.append(all_analytic[index])
    variable.assign(original)
    layer, _, tensor = variable.path.rpartition("/")
    return TensorCheck(layer.split("/")[-1], tensor, len(original.reshape(-1)), len(numeric),
                       relative_error(np.asarray(analytic), np.asarray(numeric)), kinks)
