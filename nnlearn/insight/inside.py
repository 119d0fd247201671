"""Inside a trained model: what each hidden unit computes, which examples it gets most wrong, and how
many units are dead or saturated. Numbers only; `inside_plots` draws them.

Every function takes a loaded Keras model and the run's Prepared data, and works in the data's own
units (the run's normaliser is applied before the model sees anything).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnlearn.config.learning_rates import usual_rate
from nnlearn.insight.remedies import NARROW_UNITS, widened_width
from nnlearn.model import task
from nnlearn.model.prepare import Prepared

MAX_UNITS_SHOWN = 16
MISTAKES_SHOWN = 8  # in mistakes.png, inside.json and the report
DEAD_SHARE_WARNING = 0.5
SATURATED_SHARE_WARNING = 0.5
# sigmoid: a(1 − a) < 0.01 where a < 0.0101 or a > 0.9899; tanh: 1 − a² < 0.02 where |a| > 0.99
SATURATION = {"sigmoid": (0.0101, 0.9899), "tanh": (-0.99, 0.99)}


def layer_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for the (normalised) rows x, in inference mode (dropout off)."""
    outputs, current = [], x
    for layer in model.layers:
        current = layer(current, training=False)
        outputs.append(np.asarray(current, dtype=np.float64))
    return outputs


def model_outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's outputs for normalised rows x: one call, no predict loop (the rows fit in memory)."""
    return np.asarray(model(x.astype(np.float32), training=False), dtype=np.float64)


def hidden_dense_layers(model) -> list[int]:
    """Indices of the Dense layers before the output layer: the hidden layers whose units we show."""
    dense = [index for index, layer in enumerate(model.layers) if type(layer).__name__ == "Dense"]
    return dense[:-1]


def activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear")


@dataclass
class UnitPlane:
    """One hidden unit's activation over the plane of a two-feature input."""

    layer: int  # index in model.layers
    unit: int
    activation: str
    values: np.ndarray  # (steps, steps)


def plane(prepared: Prepared, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """A steps×steps grid covering the training points with a 10% margin, in the data's own units."""
    x = prepared.splits.train.x
    low, high = x.min(axis=0), x.max(axis=0)
    margin = 0.1 * (high - low + 1e-9)
    return np.meshgrid(np.linspace(low[0] - margin[0], high[0] + margin[0], steps),
                       np.linspace(low[1] - margin[1], high[1] + margin[1], steps))


def normalised(prepared: Prepared, rows: np.ndarray) -> np.ndarray:
    return prepared.normalizer.apply(rows).reshape((len(rows),) + prepared.input_shape).astype(np.float32)


def unit_planes(model, prepared: Prepared, steps: int = 120) -> tuple[np.ndarray, np.ndarray, list[UnitPlane]]:
    """Two-feature data: (xx, yy, planes), each hidden unit's activation g(w·a + b) at every grid point."""
    xx, yy = plane(prepared, steps)
    outputs = layer_outputs(model, normalised(prepared, np.c_[xx.ravel(), yy.ravel()]))
    planes = []
    for index in hidden_dense_layers(model):
        layer = model.layers[index]
        for unit in range(min(layer.units, MAX_UNITS_SHOWN)):
            planes.append(UnitPlane(index, unit, activation_name(layer),
                                    outputs[index][:, unit].reshape(xx.shape)))
    return xx, yy, planes


@dataclass
class UnitWeights:
    """One unit of the first hidden layer: its weight on each input feature, and its bias."""

    unit: int
    weights: list[float]
    bias: float


def first_layer_weights(model, prepared: Prepared) -> list[UnitWeights]:
    """The first layer's units (up to MAX_UNITS_SHOWN), when the first layer with weights is Dense (a
    conv layer's weights are kernels, not one weight per input feature)."""
    first = next((layer for layer in model.layers if type(layer).__name__ in ("Dense", "Conv1D", "Conv2D")), None)
    if first is None or type(first).__name__ != "Dense":
        return []
    kernel, bias = (np.asarray(weight) for weight in first.get_weights())
    return [UnitWeights(unit, kernel[:, unit].astype(float).tolist(), float(bias[unit]))
            for unit in range(min(kernel.shape[1], MAX_UNITS_SHOWN))]


def first_conv_kernels(model) -> np.ndarray | None:
    """The first Conv2D layer's kernels as (filters, height, width, channels), or None."""
    conv = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if conv is None:
        return None
    return np.transpose(np.asarray(conv.get_weights()[0]), (3, 0, 1, 2))


def chosen_example(model, prepared: Prepared) -> tuple[int, str]:
    """The test example the feature maps follow, and why it was chosen: of the first class, the example
    the model is surest of (a clear case shows what each layer looks for); without classes, the first."""
    test = prepared.splits.test
    if prepared.dataset.kind != "classes" or not len(test):
        return 0, "the first test example"
    outputs = model_outputs(model, prepared.x("test").astype(np.float32))
    chances = probabilities(outputs, prepared)
    truth = np.asarray(test.y).astype(np.int64)
    sure = chances[:, 0] if chances.shape[1] == 1 else chances[np.arange(len(truth)), truth]
    if chances.shape[1] == 1:
        sure = np.where(truth == 1, sure, 1 - sure)
    first = np.flatnonzero(truth == truth.min())
    index = int(first[np.argmax(sure[first])])
    name = prepared.dataset.class_names[int(truth[index])]
    return index, f"the test example of class {name} the model is surest of (p = {sure[index]:.2f})"


def feature_maps(model, prepared: Prepared, rows: list[int]) -> list[tuple[str, np.ndarray]]:
    """(layer name, maps of shape (examples, height, width, channels)) for every conv and pool layer."""
    x = prepared.x("test")[rows].astype(np.float32)
    outputs = layer_outputs(model, x)
    return [(layer.name, outputs[index]) for index, layer in enumerate(model.layers)
            if type(layer).__name__ in ("Conv2D", "MaxPooling2D") and outputs[index].ndim == 4]


@dataclass
class Mistake:
    """One test example the model gets wrong (regression: one of its largest errors)."""

    index: int  # row of the test split
    loss: float  # its own loss (regression: the absolute error)
    true: str
    predicted: str
    probability: float | None  # the probability the model gave its predicted class
    features: list[float] = field(default_factory=list)
    file: str | None = None  # an image folder's file, relative to the folder

    def to_json(self) -> dict:
        return {"index": self.index, "file": self.file, "loss": self.loss, "true": self.true,
                "predicted": self.predicted, "probability": self.probability, "features": self.features}


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0, -z)


def per_example_loss(outputs: np.ndarray, y: np.ndarray, prepared: Prepared) -> np.ndarray:
    """Each example's own loss, in NumPy, from the outputs read as the loss reads them (regression: the
    absolute error, in the target's units)."""
    kind = prepared.dataset.kind
    if kind == "continuous":
        return np.abs(outputs.reshape(len(outputs), -1) - y.reshape(len(y), -1)).mean(axis=1)
    outputs = np.asarray(outputs, dtype=np.float64)
    logits = task.output_reading(prepared.config) == "logits"
    if prepared.config.compile.loss == "binary_crossentropy":
        target = y.reshape(outputs.shape).astype(np.float64)
        if logits:
            losses = -(target * _log_sigmoid(outputs) + (1 - target) * _log_sigmoid(-outputs))
        else:
            p = np.clip(probabilities(outputs, prepared), task.CLIP_LOW, task.CLIP_HIGH)
            losses = -(target * np.log(p) + (1 - target) * np.log(1 - p))
        return losses.mean(axis=1)
    if logits:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    else:
        log_p = np.log(np.clip(probabilities(outputs, prepared), task.CLIP_LOW, 1))
    return -log_p[np.arange(len(y)), y.astype(np.int64)]


def probabilities(outputs: np.ndarray, prepared: Prepared) -> np.ndarray:
    """Outputs turned into probabilities (the task's own rule: nnlearn.model.task)."""
    return task.probabilities(outputs, prepared.task, task.output_reading(prepared.config))


def wrong(outputs: np.ndarray, y: np.ndarray, prepared: Prepared) -> np.ndarray:
    """Which test examples are mistakes: the wrong class (multi-label: not exactly the true labels);
    for regression every example, since each has an error."""
    if prepared.dataset.kind == "continuous":
        return np.ones(len(y), dtype=bool)
    predicted = task.classes(outputs, prepared.task, task.output_reading(prepared.config))
    if prepared.task == "multilabel":
        return np.any(predicted != (np.asarray(y) > 0.5), axis=1)
    return predicted != np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.int64)


def mistakes(model, prepared: Prepared, count: int = MISTAKES_SHOWN) -> list[Mistake]:
    """Up to count test examples the model gets wrong, with the highest loss first (regression: the
    largest |error|). A right answer is never listed, however unsure: fewer mistakes, fewer rows."""
    x = prepared.x("test").astype(np.float32)
    outputs = model_outputs(model, x)
    if prepared.dataset.kind == "continuous":  # predictions in y's own units (data.standardize_target)
        outputs = prepared.predicted_values(outputs)
    y = prepared.splits.test.y
    losses = per_example_loss(outputs, y, prepared)
    candidates = np.flatnonzero(wrong(outputs, y, prepared))
    order = candidates[np.argsort(-losses[candidates], kind="stable")][:count]
    return [_mistake(int(index), outputs, losses, prepared) for index in order]


def mistakes_title(found: list[Mistake], asked: int, regression: bool) -> str:
    """What a list of mistakes holds, said once for the table, the picture and the report."""
    if regression:
        return f"The {len(found)} test examples with the largest errors |ŷ − y|"
    if not found:
        return "No test example is classified wrong: there are no mistakes to list"
    if len(found) < asked:
        return f"All {len(found)} test example{'s' if len(found) > 1 else ''} it classifies wrong, highest loss first"
    return f"{len(found)} test examples it classifies wrong, highest loss first"


def _mistake(index: int, outputs: np.ndarray, losses: np.ndarray, prepared: Prepared) -> Mistake:
    """Test example index as a Mistake: its truth, what the model said and how sure it was."""
    test, kind, names = prepared.splits.test, prepared.dataset.kind, prepared.dataset.class_names
    y = test.y
    features = test.x[index].astype(float).tolist() if len(prepared.input_shape) == 1 else []
    found = Mistake(index, float(losses[index]), "", "", None, features, file_of(prepared, index))
    if kind == "continuous":
        found.true, found.predicted = f"{float(y[index].ravel()[0]):.4g}", f"{float(outputs[index].ravel()[0]):.4g}"
        return found
    p = probabilities(outputs[index:index + 1], prepared)[0]
    if kind == "multilabel":
        found.true = ", ".join(name for name, value in zip(names, y[index]) if value > 0.5) or "none"
        found.predicted = ", ".join(name for name, value in zip(names, p) if value > 0.5) or "none"
        return found
    label = int(task.classes(outputs[index:index + 1], prepared.task, task.output_reading(prepared.config))[0])
    found.true, found.predicted = names[int(y[index])], names[label]
    found.probability = float(p[0] if label else 1 - p[0]) if p.shape[0] == 1 else float(p[label])
    return found


def file_of(prepared: Prepared, index: int) -> str | None:
    """The image file of test example index, relative to its folder (None for other data)."""
    images, rows = prepared.dataset.images, prepared.splits.test.rows
    if images is None or rows is None:
        return None
    path = images.files[int(rows[index])]
    try:
        return path.relative_to(images.folder).as_posix()
    except ValueError:
        return path.name


@dataclass
class LayerActivity:
    """How many units of one hidden layer still pass a gradient on the training set."""

    layer: int
    name: str
    activation: str
    units: int
    dead: float | None = None  # ReLU: share of units never positive on the training set
    saturated: float | None = None  # sigmoid/tanh: share of outputs where the gradient is nearly flat
    minimum: list[float] = field(default_factory=list)  # per unit (up to MAX_UNITS_SHOWN)
    maximum: list[float] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"layer": self.layer, "name": self.name, "activation": self.activation, "units": self.units,
                "dead_share": self.dead, "saturated_share": self.saturated,
                "activation_min": self.minimum, "activation_max": self.maximum}


def activity(model, prepared: Prepared) -> list[LayerActivity]:
    """Dead ReLU units and saturated sigmoid/tanh outputs of every hidden layer, on the training set."""
    outputs = layer_outputs(model, prepared.x("train").astype(np.float32))
    found = []
    for index, layer in enumerate(model.layers[:-1]):
        name = activation_name(layer)
        if type(layer).__name__ not in ("Dense", "Conv2D"):
            continue
        values = outputs[index].reshape(-1, outputs[index].shape[-1])  # (positions, units or channels)
        row = LayerActivity(index, layer.name, name, int(values.shape[1]),
                            minimum=values.min(axis=0)[:MAX_UNITS_SHOWN].tolist(),
                            maximum=values.max(axis=0)[:MAX_UNITS_SHOWN].tolist())
        if name == "relu":
            row.dead = float(np.mean(values.max(axis=0) <= 0))
        elif name in SATURATION:
            low, high = SATURATION[name]
            row.saturated = float(np.mean((values < low) | (values > high)))
        found.append(row)
    return found


def activity_warnings(rows: list[LayerActivity], config=None) -> list[str]:
    """Lint-style warnings, with the fix, when many units are dead or saturated; given the run's config, the
    fix fits it (no lower rate for a usual one, no standardising features already standardised)."""
    warnings = []
    for row in rows:
        if row.dead is not None and row.dead >= DEAD_SHARE_WARNING:
            warnings.append(f"layer {row.layer} ({row.name}): {row.dead:.0%} of its {row.units} ReLU units are "
                            "dead (never positive on the training set), so no gradient flows through them. "
                            f"Fix: {_dead_fix(row, rows, config)}.")
        if row.saturated is not None and row.saturated >= SATURATED_SHARE_WARNING:
            warnings.append(f"layer {row.layer} ({row.name}): {row.saturated:.0%} of its {row.activation} outputs "
                            "are saturated (the curve is flat there, so the gradient is nearly 0). Fix: "
                            f"{_saturated_fix(config)}.")
    return warnings


def _saturated_fix(config) -> str:
    """What to try for saturated sigmoid or tanh units, leaving out what the config already has."""
    fixes = ["ReLU hidden layers"]
    if config is None or config.data.normalize != "standard":
        now = f", now {config.data.normalize}" if config is not None else ""
        fixes.append(f"standardised features (data.normalize: standard{now})")
    if config is not None:  # large steps drive z far from 0, where the curve is flat
        rate, optimizer = config.compile.optimizer.learning_rate, config.compile.optimizer.type
        if rate > usual_rate(optimizer):
            fixes.append(f"a lower learning rate (now {rate:g}, above the usual {usual_rate(optimizer):g})")
    return fixes[0] if len(fixes) == 1 else ", ".join(fixes[:-1]) + " or " + fixes[-1]


def _dead_fix(row: LayerActivity, rows: list[LayerActivity], config) -> str:
    """What to try for dead ReLU units, from what the config already has."""
    import shlex


    if config is None:
        return "a lower learning rate, standardised features (data.normalize: standard), or fewer epochs at a high rate"
    if row.units <= NARROW_UNITS and row.dead >= 1.0:
        # as diagnose says: a layer this narrow can lose all its units, then nothing passes through it
        others = [other.units for other in rows if other.units > NARROW_UNITS]
        output = getattr(config.model.layers[-1], "units", None) or 0
        width = widened_width(others, output)
        setting = shlex.quote(f"model.layers[{row.layer}].units={width}")
        units = "its only unit" if row.units == 1 else f"all {row.units} of its units"
        return (f"widen it: with {units} dead nothing passes through, where in a wider layer some units stay "
                f"alive (--set {setting}); a different learning rate would not help")
    fixes = []
    rate, optimizer = config.compile.optimizer.learning_rate, config.compile.optimizer.type
    if rate > usual_rate(optimizer):
        fixes.append(f"a lower learning rate (now {rate:g}, above the usual {usual_rate(optimizer):g} for "
                     f"{optimizer}), or fewer epochs at this rate")
    if config.data.normalize != "standard":
        fixes.append(f"standardised features (data.normalize: standard, now {config.data.normalize})")
    fixes.append(f"a wider layer (more than its {row.units} units) or another seed (other starting weights)")
    return ", or ".join(fixes)


def inside_numbers(model, prepared: Prepared, count: int = MISTAKES_SHOWN) -> dict:
    """The numbers behind the pictures, for `nnlearn inspect --json` and the report."""
    return numbers_of(activity(model, prepared), first_layer_weights(model, prepared),
                      mistakes(model, prepared, count), prepared)


def numbers_of(rows: list, units: list, worst: list, prepared: Prepared) -> dict:
    """inside_numbers from the activity, first-layer weights and mistakes already measured."""
    return {"layers": [row.to_json() for row in rows],
            "first_layer_units": [{"unit": unit.unit, "weights": unit.weights, "bias": unit.bias}
                                  for unit in units],
            "feature_names": prepared.dataset.feature_names,
            "mistakes": [mistake.to_json() for mistake in worst],
            "warnings": activity_warnings(rows, prepared.config)}
