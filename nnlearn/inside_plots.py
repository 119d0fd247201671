"""Pictures of the inside of a trained model, saved in RUN_DIR/plots/ beside the other plots.

- units.png: two features: each hidden unit's activation over the input plane, training points on top;
  more features: the first hidden layer's weights per feature (as images for image data)
- filters.png: the first conv2d layer's kernels
- feature_maps.png: what every conv and pool layer outputs for one test example per class
- mistakes.png: the test examples with the highest loss
- decision_boundary_epochs.png: two-feature classifiers, the boundary at a few epochs of training
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnlearn import inside
from nnlearn.plots import _pyplot, _save
from nnlearn.prepare import Prepared

PANEL = 2.1  # inches per small panel


def _panels(count: int, columns: int, title: str, size: float = PANEL):
    plt = _pyplot()
    rows = max(1, math.ceil(count / columns))
    height = size * rows + 0.7
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, height), squeeze=False)
    for axis in axes.ravel()[count:]:
        axis.axis("off")
    _title(figure, title, height)
    return figure, axes.ravel()


def _title(figure, title: str, height: float) -> None:
    """A title just above the panels, whatever the figure's height."""
    figure.subplots_adjust(top=1 - 0.75 / height)
    figure.suptitle(title, y=1 - 0.12 / height, fontsize=10)


def _points(axis, prepared: Prepared) -> None:
    train = prepared.splits.train
    labels = train.y if prepared.dataset.kind == "classes" else None
    axis.scatter(train.x[:, 0], train.x[:, 1], c="white" if labels is None else labels, cmap="tab10",
                 vmin=-0.5, vmax=9.5, s=7, edgecolors="black", linewidths=0.3)


def units_plot(model, prepared: Prepared, path: Path) -> Path | None:
    """Two features: one panel per hidden unit (its activation over the plane). More features: the
    first hidden layer's weight on each feature, as bars, or as images for image data."""
    if prepared.input_shape == (2,):
        xx, yy, planes = inside.unit_planes(model, prepared)
        if not planes:
            return None
        columns = min(4, len(planes))
        figure, axes = _panels(len(planes), columns, "What each hidden unit computes: its activation g(w·x + b) "
                               "over the inputs (yellow: the unit fires most; dark: least)", size=2.4)
        names = prepared.dataset.feature_names
        extent = (xx.min(), xx.max(), yy.min(), yy.max())
        for axis, unit in zip(axes, planes):
            low, high = float(unit.values.min()), float(unit.values.max())
            axis.imshow(unit.values, origin="lower", extent=extent, aspect="auto", cmap="viridis",
                        vmin=low, vmax=high if high > low else low + 1)
            _points(axis, prepared)
            state = "dead: never fires" if unit.activation == "relu" and high <= 0 else f"{low:.2g} to {high:.2g}"
            axis.set_title(f"layer {unit.layer}, unit {unit.unit} ({unit.activation})\n{state}", fontsize=8)
            axis.set_xlabel(names[0], fontsize=7, labelpad=1)
            axis.set_ylabel(names[1], fontsize=7, labelpad=1)
            axis.tick_params(labelsize=6, pad=1)
        figure.subplots_adjust(hspace=0.55, wspace=0.3)
        return _save(figure, path)
    units = inside.first_layer_weights(model, prepared)
    if not units:
        return None
    image_shape = prepared.dataset.image_shape
    if image_shape is not None and len(units[0].weights) == int(np.prod(image_shape)):
        return _weight_images(units, image_shape, path)
    names = prepared.dataset.feature_names
    columns = min(4, len(units))
    figure, axes = _panels(len(units), columns, "First hidden layer: the weight of each input feature "
                           "(red pushes the unit up, blue down)", size=3.2)
    for axis, unit in zip(axes, units):
        weights = np.array(unit.weights)
        axis.barh(range(len(weights)), weights, color=np.where(weights >= 0, "tab:red", "tab:blue"))
        axis.set_yticks(range(len(weights)), [name[:18] for name in names] if len(names) <= 16 else [],
                        fontsize=6)
        axis.invert_yaxis()
        axis.axvline(0, color="black", linewidth=0.5)
        axis.set_title(f"unit {unit.unit}: bias {unit.bias:+.2f}", fontsize=9)
        axis.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    return _save(figure, path)


def _weight_images(units: list[inside.UnitWeights], image_shape, path: Path) -> Path:
    height, width = image_shape[0], image_shape[1]
    columns = min(8, len(units))
    figure, axes = _panels(len(units), columns, "First hidden layer: each unit's weights as an image "
                           "(red: pixels that push it up, blue: down)", size=1.6)
    for axis, unit in zip(axes, units):
        weights = np.array(unit.weights).reshape(height, width, -1).mean(axis=2)
        limit = float(np.abs(weights).max()) or 1.0
        axis.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(f"unit {unit.unit}", fontsize=8)
        axis.axis("off")
    return _save(figure, path)


def filters_plot(model, path: Path) -> Path | None:
    """The first conv2d layer's kernels, averaged over input channels, on one colour scale."""
    kernels = inside.first_conv_kernels(model)
    if kernels is None:
        return None
    shown = kernels[:32].mean(axis=3)
    limit = float(np.abs(shown).max()) or 1.0
    columns = min(8, len(shown))
    figure, axes = _panels(len(shown), columns, f"First conv2d layer: its {len(kernels)} filters "
                           f"({kernels.shape[1]}×{kernels.shape[2]} kernels; red: positive weights)", size=1.3)
    for number, (axis, kernel) in enumerate(zip(axes, shown)):
        image = axis.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(f"filter {number}", fontsize=7)
        axis.axis("off")
    figure.colorbar(image, ax=list(axes[:len(shown)]), fraction=0.02, label="weight")
    return _save(figure, path)


def feature_maps_plot(model, prepared: Prepared, path: Path, channels: int = 4) -> Path | None:
    """Rows: one test example per class. Columns: the input, then for every conv/pool layer the
    channels that respond most to that example."""
    rows = inside.one_example_per_class(prepared)
    if not rows or len(prepared.input_shape) != 3:
        return None
    maps = inside.feature_maps(model, prepared, rows)
    if not maps:
        return None
    plt = _pyplot()
    columns = 1 + channels * len(maps)
    height = 1.05 * len(rows) + 0.8
    figure, axes = plt.subplots(len(rows), columns, figsize=(0.95 * columns, height), squeeze=False)
    images = prepared.splits.test.x[rows].reshape((len(rows),) + prepared.input_shape)
    names = prepared.dataset.class_names
    for row, example in enumerate(rows):
        axes[row, 0].imshow(images[row].mean(axis=2), cmap="gray_r")
        axes[row, 0].set_ylabel(f"class {names[prepared.splits.test.y[example]]}", fontsize=7)
        column = 1
        for layer_name, outputs in maps:
            strongest = np.argsort(-outputs[row].mean(axis=(0, 1)), kind="stable")[:channels]
            for channel in strongest:
                axes[row, column].imshow(outputs[row][:, :, channel], cmap="viridis")
                if row == 0:
                    axes[row, column].set_title(f"{layer_name}\nch {channel}", fontsize=6)
                column += 1
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0, 0].set_title("input", fontsize=7)
    _title(figure, "Feature maps: what each conv/pool layer outputs for one test example per class "
           f"(its {channels} strongest channels)", height)
    return _save(figure, path)


def mistakes_plot(model, prepared: Prepared, path: Path, count: int = 8) -> Path | None:
    """The test examples with the highest loss: images, points on the plane, or a table of rows."""
    found = inside.mistakes(model, prepared, count)
    if not found:
        return None
    test = prepared.splits.test
    image_shape = prepared.dataset.image_shape
    regression = prepared.dataset.kind == "continuous"
    what = "largest absolute errors" if regression else "highest loss"
    if image_shape is not None:
        columns = min(4, len(found))
        figure, axes = _panels(len(found), columns, f"The {len(found)} test examples with the {what}", size=2.0)
        for axis, mistake in zip(axes, found):
            axis.imshow(test.x[mistake.index].reshape(image_shape).mean(axis=2), cmap="gray_r")
            shown = f" ({mistake.probability:.2f})" if mistake.probability is not None else ""
            axis.set_title(f"true {mistake.true}\nsaid {mistake.predicted}{shown}", fontsize=8)
            axis.axis("off")
        return _save(figure, path)
    if test.x.shape[1] == 2:
        plt = _pyplot()
        figure, axis = plt.subplots(figsize=(6, 5))
        labels = test.y if prepared.dataset.kind == "classes" else None
        if labels is not None:  # the decision regions behind the points
            xx, yy = inside.plane(prepared, 80)
            outputs = np.asarray(model.predict(inside.normalised(prepared, np.c_[xx.ravel(), yy.ravel()]),
                                               batch_size=8192, verbose=0))
            axis.contourf(xx, yy, _classes(outputs, prepared).reshape(xx.shape), cmap="tab10", alpha=0.2,
                          levels=np.arange(prepared.dataset.n_classes + 1) - 0.5, vmin=-0.5, vmax=9.5)
        axis.scatter(test.x[:, 0], test.x[:, 1], c="lightgray" if labels is None else labels, cmap="tab10",
                     vmin=-0.5, vmax=9.5, s=16, edgecolors="black", linewidths=0.3, label="test points")
        worst = np.array([test.x[mistake.index] for mistake in found])
        axis.scatter(worst[:, 0], worst[:, 1], s=150, facecolors="none", edgecolors="red", linewidths=1.6,
                     label=f"the {len(found)} with the {what}")
        for rank, mistake in enumerate(found, start=1):
            axis.annotate(str(rank), test.x[mistake.index], textcoords="offset points", xytext=(6, 6),
                          fontsize=8, color="red")
        names = prepared.dataset.feature_names
        axis.set_xlabel(names[0])
        axis.set_ylabel(names[1])
        axis.legend(fontsize=8)
        axis.set_title(f"Test examples with the {what}")
        return _save(figure, path)
    plt = _pyplot()
    names = prepared.dataset.feature_names[:5]
    headers = ["row", "true", "predicted", "loss" if not regression else "|error|"] + [n[:12] for n in names]
    cells = [[str(m.index), m.true, m.predicted + (f" ({m.probability:.2f})" if m.probability is not None else ""),
              f"{m.loss:.3g}"] + [f"{value:.3g}" for value in m.features[:5]] for m in found]
    figure, axis = plt.subplots(figsize=(1.3 * len(headers), 0.4 * len(cells) + 1))
    axis.axis("off")
    table = axis.table(cellText=cells, colLabels=headers, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    axis.set_title(f"The {len(found)} test examples with the {what}"
                   + (" (first 5 features)" if len(prepared.dataset.feature_names) > 5 else ""))
    return _save(figure, path)


def boundary_epochs_plot(model, prepared: Prepared, snapshots: dict[int, list[np.ndarray]],
                         path: Path, final_epoch: int = 0) -> Path | None:
    """Two-feature classifiers: the decision boundary at the kept epochs, left to right, ending with the
    saved model (after final_epoch, or the best epoch's weights with early stopping)."""
    if prepared.input_shape != (2,) or prepared.dataset.kind != "classes" or not snapshots:
        return None
    final = model.get_weights()
    snapshots = {epoch: weights for epoch, weights in snapshots.items() if epoch < final_epoch or not final_epoch}
    snapshots[final_epoch or max(snapshots, default=0) + 1] = final
    epochs = sorted(snapshots)
    xx, yy = inside.plane(prepared, 80)
    points = inside.normalised(prepared, np.c_[xx.ravel(), yy.ravel()])
    figure, axes = _panels(len(epochs), len(epochs), "How training moved the decision boundary", size=2.4)
    try:
        for axis, epoch in zip(axes, epochs):
            model.set_weights(snapshots[epoch])
            outputs = np.asarray(model.predict(points, batch_size=8192, verbose=0))
            axis.contourf(xx, yy, _classes(outputs, prepared).reshape(xx.shape), cmap="tab10", vmin=-0.5,
                          vmax=9.5, alpha=0.35, levels=np.arange(prepared.dataset.n_classes + 1) - 0.5)
            _points(axis, prepared)
            axis.set_title("the saved model" if epoch == epochs[-1] else f"after epoch {epoch}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
    finally:
        model.set_weights(final)
    return _save(figure, path)


def _classes(outputs: np.ndarray, prepared: Prepared) -> np.ndarray:
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > (0 if prepared.config.compile.from_logits else 0.5)).astype(int)
    return outputs.argmax(axis=1)


def draw_inside(model, prepared: Prepared, folder: Path, snapshots: dict | None = None,
                final_epoch: int = 0) -> list[Path]:
    """Every picture of the inside that fits this model and data; returns the files written."""
    drawn = [units_plot(model, prepared, folder / "units.png"),
             filters_plot(model, folder / "filters.png"),
             feature_maps_plot(model, prepared, folder / "feature_maps.png"),
             mistakes_plot(model, prepared, folder / "mistakes.png"),
             boundary_epochs_plot(model, prepared, snapshots or {}, folder / "decision_boundary_epochs.png",
                                  final_epoch)]
    return [path for path in drawn if path is not None]
