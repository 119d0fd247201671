"""The numbers behind the live page's pictures of a model while it trains: for two features, its answer
over the plane (the decision boundary) and each first-layer unit's activation over the same plane; for
regression, its predictions against the truth. The page draws them; nothing here draws.

Computed with the model's own layers (nnlearn.insight.inside) and the task's own rule for probabilities and
classes (nnlearn.model.task), in the data's own units, as the saved pictures of a run are.
"""

from __future__ import annotations

import numpy as np

from nnlearn.insight.inside import (
    MAX_UNITS_SHOWN,
    activation_name,
    hidden_dense_layers,
    layer_outputs,
    normalised,
    plane,
)
from nnlearn.model.task import classes, output_reading, probabilities

PLANE_STEPS = 48  # the boundary's grid; a unit's picture takes every other point (24 × 24)
POINTS_SHOWN = 300  # training points drawn on the boundary, and rows on predicted against true


def drawable(prepared) -> bool:
    """Whether the page has a picture of this model: a two-feature classifier or a regression held in memory."""
    if prepared.stream is not None:
        return False
    return (prepared.input_shape == (2,) and prepared.dataset.kind == "classes") or \
        prepared.dataset.kind == "continuous"


def picture(model, prepared, epoch: int) -> dict | None:
    """The page's picture of the model as its weights are now (after `epoch` epochs), or None."""
    if not drawable(prepared):
        return None
    shown = {"epoch": epoch}
    if prepared.input_shape == (2,):
        shown.update(_plane(model, prepared))
    if prepared.dataset.kind == "continuous":
        shown.update(_predicted_against_true(model, prepared))
    return shown


def _rounded(values: np.ndarray, digits: int = 3) -> list:
    return np.round(np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0), digits).tolist()


def _sample(count: int) -> np.ndarray:
    """Up to POINTS_SHOWN row indices spread evenly over count rows (the same ones at every drawing)."""
    return np.unique(np.linspace(0, count - 1, min(count, POINTS_SHOWN)).astype(int)) if count else np.array([], int)


def _plane(model, prepared) -> dict:
    """The model's answer over the plane and each first-layer unit's activation, from one pass over the grid.

    A binary classifier gives P(class 1); K classes give the predicted class and its probability; a
    regression gives the predicted value. Rows of the grids go from the lowest second feature up.
    """
    xx, yy = plane(prepared, PLANE_STEPS)
    outputs = layer_outputs(model, normalised(prepared, np.c_[xx.ravel(), yy.ravel()]))
    task, reading = prepared.task, output_reading(prepared.config)  # the outputs read as the loss reads them
    answer = outputs[-1]
    shown = {"x_range": [float(xx.min()), float(xx.max())], "y_range": [float(yy.min()), float(yy.max())],
             "features": list(prepared.dataset.feature_names[:2]), "steps": PLANE_STEPS,
             "class_names": list(prepared.dataset.class_names or [])}
    if task == "regression":
        shown["value"] = _rounded(prepared.predicted_values(answer)[:, 0].reshape(xx.shape))  # in y's own units
    elif task == "binary":
        shown["probability"] = _rounded(probabilities(answer, task, reading)[:, 0].reshape(xx.shape))
    else:
        chances = probabilities(answer, task, reading)
        shown["classes"] = classes(answer, task, reading).reshape(xx.shape).astype(int).tolist()
        shown["confidence"] = _rounded(chances.max(axis=1).reshape(xx.shape))
    train = prepared.splits.train
    rows = _sample(len(train))
    labels = train.y[rows].reshape(len(rows), -1)[:, 0]
    shown["points"] = [[round(float(x), 4), round(float(y), 4), float(label) if task == "regression" else int(label)]
                       for (x, y), label in zip(train.x[rows], labels)]
    shown["units"] = _first_layer_units(model, outputs)
    return shown


def _first_layer_units(model, outputs: list[np.ndarray]) -> list[dict]:
    """Each unit of the first hidden Dense layer (up to MAX_UNITS_SHOWN): its activation over the plane."""
    hidden = hidden_dense_layers(model)
    if not hidden:
        return []
    index = hidden[0]
    layer = model.layers[index]
    values = outputs[index].reshape(PLANE_STEPS, PLANE_STEPS, -1)[::2, ::2]
    return [{"layer": index, "unit": unit, "activation": activation_name(layer),
             "values": _rounded(values[:, :, unit])} for unit in range(min(values.shape[-1], MAX_UNITS_SHOWN))]


def _predicted_against_true(model, prepared) -> dict:
    """The model's prediction of the first target against its true value, on the validation rows (the
    training rows when there are none): the test split stays unseen until the run ends."""
    split = "validation" if prepared.splits.validation is not None and len(prepared.splits.validation) else "train"
    rows = _sample(len(getattr(prepared.splits, split)))
    chosen = getattr(prepared.splits, split)
    outputs = layer_outputs(model, normalised(prepared, chosen.x[rows]))[-1]
    predicted = prepared.predicted_values(outputs).reshape(len(rows), -1)[:, 0]  # in y's own units, as truth
    truth = chosen.y[rows].reshape(len(rows), -1)[:, 0]
    return {"split": split, "truth": _rounded(truth, 4), "predicted": _rounded(predicted, 4)}
