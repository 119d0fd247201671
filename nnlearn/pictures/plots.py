"""Pictures of a run, drawn with matplotlib's Agg backend (no display needed), saved in RUN_DIR/plots/.

- learning_curves.png: loss and each metric per epoch, training against validation
- confusion_matrix.png: classifiers, on the test split
- decision_boundary.png: inputs with two features, the predicted class or probability over the plane
- predicted_vs_true.png: regression, on the test split
- and the pictures of the inside of the model (inside_plots): units, filters, feature maps, mistakes,
  the decision boundary over the epochs
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.errors import RunError
from nnlearn.insight.diagnose import curve_title, diagnose_run
from nnlearn.insight.evaluation import confusion_matrix
from nnlearn.insight.inside import inside_numbers, plane
from nnlearn.model.prepare import Prepared
from nnlearn.model.task import classes, output_reading, probabilities
from nnlearn.pictures.drawing import MARKERS, class_legend, class_regions, scatter_classes
from nnlearn.pictures.figures import pyplot, save_figure
from nnlearn.pictures.inside_plots import draw_inside
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.saved_run import prepare_saved_run
from nnlearn.runs.snapshots import load_snapshots

GRID_STEPS = 200


def learning_curves(history: list[dict[str, float]], path: Path, title: str = "Learning curves") -> Path:
    """One panel per quantity (loss, then each metric): training against validation, per epoch.
    The loss goes on a log axis when it spans more than 100×, so both ends can be read."""
    plt = pyplot()
    names = sorted((key for key in history[0] if key != "epoch" and not key.startswith("val_")),
                   key=lambda key: key != "loss")
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for axis, name in zip(axes[0], names):
        axis.plot(epochs, [row[name] for row in history], label="training", color="tab:blue")
        if f"val_{name}" in history[0]:
            axis.plot(epochs, [row[f"val_{name}"] for row in history], label="validation",
                      color="tab:orange")
        axis.set_xlabel("epoch")
        axis.set_title("loss (the cost J)" if name == "loss" else name)
        if name == "loss" and _spans_decades(history):
            axis.set_yscale("log")
            axis.set_title("loss (the cost J), log scale")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title, y=1.04)
    return save_figure(figure, path)


def batch_curve(losses: list[float], path: Path, title: str) -> Path:
    """A first epoch that ended in NaN, batch by batch: each batch's loss up to the last finite one, and
    where the loss stopped being finite (log scale when the losses span more than 100×)."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 3.6))
    shown = [(number, loss) for number, loss in enumerate(losses, start=1) if np.isfinite(loss)]
    if shown:
        axis.plot(*zip(*shown), marker="o", markersize=3, color="tab:blue", label="training loss of each batch")
    failed = next((number for number, loss in enumerate(losses, start=1) if not np.isfinite(loss)), None)
    if failed is not None:
        axis.axvline(failed, color="tab:red", linestyle="--", label=f"batch {failed}: NaN or infinite")
    positive = [loss for _, loss in shown if loss > 0]
    if positive and max(positive) > 100 * min(positive):
        axis.set_yscale("log")
    axis.set_xlabel("batch (epoch 1)")
    axis.set_title("loss (the cost J) of each batch, up to the NaN" + (", log scale" if axis.get_yscale() == "log"
                                                                         else ""))
    axis.grid(alpha=0.3)
    axis.legend()
    figure.suptitle(title, y=1.04)
    return save_figure(figure, path)


def _spans_decades(history: list[dict[str, float]]) -> bool:
    values = [row[key] for row in history for key in ("loss", "val_loss")
              if key in row and np.isfinite(row[key]) and row[key] > 0]
    return bool(values) and max(values) > 100 * min(values)


COMPACT_CLASSES = 30  # more classes than this: the confusion matrix without a number in every cell


def confusion_matrix_plot(labels: list[str], matrix: list[list[int]], path: Path) -> Path:
    """Counts of (true class, predicted class) on the test split, each cell numbered; past
    COMPACT_CLASSES classes a compact form: the counts as colours only, and the most confused pairs named."""
    if len(labels) > COMPACT_CLASSES:
        return _compact_confusion_matrix(labels, np.asarray(matrix), path)
    plt = pyplot()
    counts = np.asarray(matrix)
    size = max(4.0, 0.6 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046, label="test examples")
    axis.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 4 else 0)
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    threshold = counts.max() / 2 if counts.size else 0
    for row in range(len(labels)):
        for column in range(len(labels)):
            axis.text(column, row, str(counts[row, column]), ha="center", va="center",
                      color="white" if counts[row, column] > threshold else "black")
    axis.set_title("Confusion matrix (test split)")
    return save_figure(figure, path)


def _compact_confusion_matrix(labels: list[str], counts: np.ndarray, path: Path, named: int = 12) -> Path:
    """Many classes: one figure of fixed size whatever their number. The matrix as a picture (a square
    root colour scale, so single mistakes still show), about 20 class names per axis, and beside it the
    most confused pairs (true → predicted) with their counts."""
    from matplotlib.colors import PowerNorm

    plt = pyplot()
    figure, (axis, side) = plt.subplots(1, 2, figsize=(12, 8.5), gridspec_kw={"width_ratios": [3, 1]})
    image = axis.imshow(counts, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=max(int(counts.max()), 1)),
                        interpolation="nearest", aspect="equal")
    figure.colorbar(image, ax=axis, fraction=0.046, label="test examples (square-root scale)")
    ticks = np.unique(np.linspace(0, len(labels) - 1, 20).round().astype(int))
    axis.set_xticks(ticks, [labels[tick] for tick in ticks], rotation=90, fontsize=7)
    axis.set_yticks(ticks, [labels[tick] for tick in ticks], fontsize=7)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    right = int(np.trace(counts))
    axis.set_title(f"Confusion matrix (test split): {len(labels)} classes, {right} of {int(counts.sum())} "
                   "right (the diagonal)", fontsize=10)
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:named]
    pairs = [(labels[index // len(labels)], labels[index % len(labels)], int(off.flat[index]))
             for index in order if off.flat[index] > 0]
    side.axis("off")
    lines = [f"{count:>4}  {true} → {said}" for true, said, count in pairs] or ["none: every test", "example is right"]
    side.text(0, 1, "Most confused\n(true → predicted)\n\n" + "\n".join(lines), va="top", ha="left",
              family="monospace", fontsize=9, transform=side.transAxes)
    return save_figure(figure, path)


@dataclass
class Grid:
    """The plane of a two-feature input, in the data's own units, and the model's answer on it."""

    xx: np.ndarray
    yy: np.ndarray
    classes: np.ndarray
    probability: np.ndarray | None  # P(y=1) for binary classifiers
    confidence: np.ndarray | None = None  # K classes: the probability of the predicted class


def decision_grid(model, prepared: Prepared, steps: int = GRID_STEPS) -> Grid:
    """Predict every point of a steps×steps grid covering the training points (with a margin)."""
    xx, yy = plane(prepared, steps)
    outputs = predict_raw(model, prepared, np.c_[xx.ravel(), yy.ravel()])
    task, reading = prepared.task, output_reading(prepared.config)
    predicted = classes(outputs, task, reading).reshape(xx.shape)
    chances = probabilities(outputs, task, reading)
    if task == "binary":
        return Grid(xx, yy, predicted, chances[:, 0].reshape(xx.shape))
    return Grid(xx, yy, predicted, None, chances.max(axis=1).reshape(xx.shape))


def predict_raw(model, prepared: Prepared, points: np.ndarray) -> np.ndarray:
    """The model's outputs (logits) for rows in the data's own units."""
    x = prepared.normalizer.apply(points).reshape((len(points),) + prepared.input_shape)
    return np.asarray(model.predict(x, batch_size=4096, verbose=0), dtype=np.float64)


def decision_boundary(model, prepared: Prepared, path: Path) -> Path:
    """The plane coloured by the model's answer, probability contours on it, and the training points
    drawn as dark-edged markers (one shape per class, named in the legend) so they show on any colour."""
    plt = pyplot()
    grid = decision_grid(model, prepared)
    figure, axis = plt.subplots(figsize=(6.4, 5))
    names = prepared.dataset.class_names or ["0", "1"]
    train = prepared.splits.train
    if grid.probability is not None:
        image = axis.contourf(grid.xx, grid.yy, grid.probability, levels=np.linspace(0, 1, 21),
                              cmap="RdBu_r", alpha=0.55)
        how = {"logits": " = sigmoid(z)", "probabilities": ", the sigmoid output",
               "clipped": ", the output clipped into [0, 1]"}[output_reading(prepared.config)]
        figure.colorbar(image, ax=axis, label=f"P(y = {names[1] if len(names) == 2 else 1}){how}")
        lines = axis.contour(grid.xx, grid.yy, grid.probability, levels=[0.1, 0.5, 0.9], colors="black",
                             linewidths=[0.6, 1.8, 0.6], linestyles=["dashed", "solid", "dashed"])
        axis.clabel(lines, fmt="%.1f", fontsize=7)
        for label, colour in enumerate(["#1f3d99", "#b2182b"]):  # the two ends of the probability's colours
            chosen = train.y == label
            axis.scatter(train.x[chosen, 0], train.x[chosen, 1], color=colour, marker=MARKERS[label],
                         edgecolors="black", linewidths=0.6, s=22, label=f"class {names[label]}")
        axis.legend(title="true class", fontsize=8, title_fontsize=8, loc="best", framealpha=0.85)
    else:
        colours, norm = class_regions(len(names))
        axis.imshow(grid.classes, origin="lower", extent=(grid.xx.min(), grid.xx.max(), grid.yy.min(),
                                                          grid.yy.max()), aspect="auto", cmap=colours,
                    norm=norm, alpha=0.3, interpolation="nearest")
        if grid.confidence is not None:  # how sure the model is of its answer: the softmax's top probability
            lines = axis.contour(grid.xx, grid.yy, grid.confidence, levels=[0.5, 0.9], colors="black",
                                 linewidths=0.6, linestyles="dashed")
            axis.clabel(lines, fmt="%.1f", fontsize=7)
        scatter_classes(axis, train.x, train.y, names, size=22, edge=0.6)
        class_legend(figure, axis, names, "true class (region: predicted)", outside=len(names) > 4)
    features = prepared.dataset.feature_names
    axis.set_xlabel(features[0])
    axis.set_ylabel(features[1])
    axis.set_title(("Decision boundary (solid) and probability contours" if grid.probability is not None else
                    "Decision regions and contours of the top class's probability") + ", with the training points",
                   fontsize=10)
    return save_figure(figure, path)


def predicted_vs_true(model, prepared: Prepared, path: Path) -> Path:
    plt = pyplot()
    test = prepared.splits.test
    predicted = prepared.predicted_values(predict_raw(model, prepared, test.x))[:, 0]
    truth = test.y.reshape(len(test.y), -1)[:, 0]
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.scatter(truth, predicted, s=18, alpha=0.7, edgecolors="black", linewidths=0.3)
    low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
    axis.plot([low, high], [low, high], color="tab:red", label="perfect: predicted = true")
    axis.set_xlabel("true y")
    axis.set_ylabel("predicted y")
    axis.set_title("Regression on the test split")
    axis.legend()
    axis.grid(alpha=0.3)
    return save_figure(figure, path)


def draw_plots(run_dir: RunDir, prepared: Prepared | None = None) -> list[Path]:
    """(Re)draw every plot that fits the run into RUN_DIR/plots/; returns the files written.
    prepared: the run's data when the caller has it (right after training), else it is rebuilt. The run's
    lock is taken first: another process writing it refuses this one (nnlearn.runs.lock)."""
    run_dir.take()
    if prepared is None:
        prepared, _ = prepare_saved_run(run_dir)
    history = run_dir.history()
    finished = run_dir.is_finished()
    batches = [] if history or finished else run_dir.batch_losses()
    if not finished and not history and not batches:
        failed = run_dir.failure().get("reason") == "nan"  # resuming would replay the same steps to the NaN
        raise RunError(f"{run_dir} has no {RunDir.MODEL} and no epoch in its history: there is nothing to plot "
                       "yet.", hint=f"see why with `nnlearn diagnose {run_dir}`" if failed
                       else f"resume it: nnlearn train --resume {run_dir}")
    folder = run_dir.plots_dir
    folder.mkdir(exist_ok=True)
    written = []
    if history or batches:
        title = curve_title(diagnose_run(run_dir, prepared))
        written.append(learning_curves(history, folder / "learning_curves.png", title) if history
                       else batch_curve(batches, folder / "learning_curves.png", title))
    if not finished:  # a failed or interrupted run: its history is all there is to draw
        return written
    model = run_dir.load_model()
    kind = prepared.dataset.kind
    if kind == "classes":
        written.append(confusion_matrix_plot(prepared.dataset.class_names, confusion_matrix(model, prepared),
                                             folder / "confusion_matrix.png"))
        if prepared.input_shape == (2,):
            written.append(decision_boundary(model, prepared, folder / "decision_boundary.png"))
    elif kind == "continuous":
        written.append(predicted_vs_true(model, prepared, folder / "predicted_vs_true.png"))

    written += draw_inside(model, prepared, folder, load_snapshots(run_dir), len(history))
    write_inside_numbers(model, prepared, run_dir)
    return written


INSIDE_FILE = "inside.json"


def write_inside_numbers(model, prepared: Prepared, run_dir: RunDir) -> None:
    """The numbers behind the pictures of the inside (for the report and for teachers' checks)."""
    import json


    run_dir.write_plot(INSIDE_FILE, json.dumps(inside_numbers(model, prepared), indent=1) + "\n")
