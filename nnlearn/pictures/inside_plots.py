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

from nnlearn.insight import inside
from nnlearn.model.prepare import Prepared
from nnlearn.pictures.figures import pyplot, save_figure

PANEL = 2.1  # inches per small panel


def _panels(count: int, columns: int, title: str, size: float = PANEL):
    plt = pyplot()
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


def _points(axis, prepared: Prepared, limit: int = 300) -> None:
    """The training points (at most limit of them, evenly picked), coloured by class."""
    train = prepared.splits.train
    picks = np.linspace(0, len(train) - 1, min(limit, len(train))).astype(int)
    labels = train.y[picks] if prepared.dataset.kind == "classes" else None
    axis.scatter(train.x[picks, 0], train.x[picks, 1], c="white" if labels is None else labels, cmap="tab10",
                 vmin=-0.5, vmax=9.5, s=7, edgecolors="black", linewidths=0.3)


def units_plot(model, prepared: Prepared, path: Path) -> Path | None:
    """Two features: one panel per hidden unit (its activation over the plane). More features: the
    first hidden layer's weight on each feature, as bars, or as images for image data."""
    if prepared.input_shape == (2,):
        return _unit_planes_plot(model, prepared, path)
    units = inside.first_layer_weights(model, prepared)
    if not units:
        return None
    image_shape = prepared.dataset.image_shape
    if image_shape is not None and len(units[0].weights) == int(np.prod(image_shape)):
        return _weight_images(units, image_shape, path)
    names = prepared.dataset.feature_names
    columns = min(4, len(units))
    figure, axes = _panels(len(units), columns, "First hidden layer: the weight of each input feature "
                           "(red pushes the unit up, blue down)", size=2.6)
    for number, (axis, unit) in enumerate(zip(axes, units)):
        weights = np.array(unit.weights)
        axis.barh(range(len(weights)), weights, color=np.where(weights >= 0, "tab:red", "tab:blue"))
        # feature names on the first panel of each row only: they are the same for every unit
        shown = number % columns == 0 and len(names) <= 20
        axis.set_yticks(range(len(weights)), [name[:16] for name in names] if shown else [], fontsize=6)
        axis.invert_yaxis()
        axis.axvline(0, color="black", linewidth=0.5)
        axis.set_title(f"unit {unit.unit}: bias {unit.bias:+.2f}", fontsize=8)
        axis.tick_params(axis="x", labelsize=6)
    figure.subplots_adjust(hspace=0.4, wspace=0.1)
    return save_figure(figure, path)


def _unit_planes_plot(model, prepared: Prepared, path: Path, steps: int = 100, gap: int = 24) -> Path | None:
    """Every hidden unit's activation over the plane, as tiles of one picture (each on its own colour
    scale), with the training points on every tile."""
    xx, yy, planes = inside.unit_planes(model, prepared, steps)
    if not planes:
        return None
    columns = min(4, len(planes))
    sheet = mosaic([_scaled(unit.values)[::-1] for unit in planes], columns, gap)  # row 0 at the top
    train = prepared.splits.train
    picks = np.linspace(0, len(train) - 1, min(300, len(train))).astype(int)
    across = (train.x[picks, 0] - xx.min()) / (xx.max() - xx.min()) * (steps - 1)
    up = (steps - 1) - (train.x[picks, 1] - yy.min()) / (yy.max() - yy.min()) * (steps - 1)
    plt = pyplot()
    rows = math.ceil(len(planes) / columns)
    figure, axis = plt.subplots(figsize=(2.3 * columns, 2.6 * rows + 0.7))
    axis.imshow(sheet, cmap="viridis", vmin=0, vmax=1)
    labels = train.y[picks] if prepared.dataset.kind == "classes" else np.zeros(len(picks))
    for number, unit in enumerate(planes):
        row, column = divmod(number, columns)
        left, top = column * (steps + gap), row * (steps + gap)
        axis.scatter(across + left, up + top, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=5,
                     edgecolors="black", linewidths=0.25)
        low, high = float(unit.values.min()), float(unit.values.max())
        state = "dead: never fires" if unit.activation == "relu" and high <= 0 else f"{low:.2g} to {high:.2g}"
        axis.text(left + steps / 2, top - 2, f"layer {unit.layer}, unit {unit.unit} ({unit.activation})\n{state}",
                  ha="center", va="bottom", fontsize=6.5)
    axis.set_xlim(-1, sheet.shape[1])
    axis.set_ylim(sheet.shape[0], -gap)
    axis.axis("off")
    names = prepared.dataset.feature_names
    axis.set_title(f"What each hidden unit computes: its activation g(w·x + b) over the inputs\n(each tile: "
                   f"{names[0]} {xx.min():.3g} to {xx.max():.3g} across, {names[1]} {yy.min():.3g} to "
                   f"{yy.max():.3g} up; yellow: the unit fires most, dark: least)", fontsize=8.5)
    return save_figure(figure, path)


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
    return save_figure(figure, path)


def mosaic(tiles: list[np.ndarray], columns: int, gap: int = 1) -> np.ndarray:
    """Equal-sized 2-D tiles laid out in rows of columns, separated by NaN (drawn as background)."""
    height, width = tiles[0].shape
    rows = math.ceil(len(tiles) / columns)
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for number, tile in enumerate(tiles):
        row, column = divmod(number, columns)
        sheet[row * (height + gap):row * (height + gap) + height,
              column * (width + gap):column * (width + gap) + width] = tile
    return sheet


def _scaled(tile: np.ndarray) -> np.ndarray:
    """A tile stretched to 0..1, so each map shows its own pattern whatever its size."""
    low, high = float(tile.min()), float(tile.max())
    return (tile - low) / (high - low) if high > low else np.zeros_like(tile)


def filters_plot(model, path: Path) -> Path | None:
    """The first conv2d layer's kernels, averaged over input channels, on one colour scale."""
    kernels = inside.first_conv_kernels(model)
    if kernels is None:
        return None
    shown = kernels[:64].mean(axis=3)
    limit = float(np.abs(shown).max()) or 1.0
    columns = min(8, len(shown))
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(0.75 * columns + 1.5, 0.75 * math.ceil(len(shown) / columns) + 0.9))
    image = axis.imshow(mosaic(list(shown), columns), cmap="RdBu_r", vmin=-limit, vmax=limit)
    axis.axis("off")
    figure.colorbar(image, ax=axis, fraction=0.04, label="weight")
    axis.set_title(f"First conv2d layer: its {len(kernels)} filters ({kernels.shape[1]}×{kernels.shape[2]} "
                   "kernels, left to right, top to bottom)\nred: the pattern it looks for; blue: the opposite",
                   fontsize=9)
    return save_figure(figure, path)


def feature_maps_plot(model, prepared: Prepared, path: Path, channels: int = 4) -> Path | None:
    """Rows: one test example per class. Columns: the input, then for every conv/pool layer the
    channels that respond most to that example, each map on its own scale."""
    rows = inside.one_example_per_class(prepared)
    if not rows or len(prepared.input_shape) != 3:
        return None
    maps = inside.feature_maps(model, prepared, rows)
    if not maps:
        return None
    images = prepared.splits.test.x[rows].reshape((len(rows),) + prepared.input_shape).mean(axis=3)
    size = images.shape[1]
    groups = [("input", [[_scaled(image)] for image in images])]
    for layer_name, outputs in maps:
        tiles = []
        for row in range(len(rows)):
            strongest = np.argsort(-outputs[row].mean(axis=(0, 1)), kind="stable")[:channels]
            tiles.append([_resized(_scaled(outputs[row][:, :, channel]), size) for channel in strongest])
        groups.append((layer_name, tiles))
    sheets = [mosaic([tile for row_tiles in tiles for tile in row_tiles], len(tiles[0])) for _, tiles in groups]
    plt = pyplot()
    widths = [sheet.shape[1] for sheet in sheets]
    height = 0.12 * sheets[0].shape[0] + 1.0
    figure, axes = plt.subplots(1, len(sheets), figsize=(0.12 * sum(widths) + 1, height),
                                gridspec_kw={"width_ratios": widths}, squeeze=False)
    names = prepared.dataset.class_names
    for axis, sheet, (name, _) in zip(axes[0], sheets, groups):
        axis.imshow(sheet, cmap="gray_r" if name == "input" else "viridis", vmin=0, vmax=1)
        axis.set_title(name if name == "input" else f"{name}\n{channels} strongest channels", fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([(size + 1) * row + size / 2 for row in range(len(rows))] if name == "input" else [])
        if name == "input":
            axis.set_yticklabels([f"class {names[prepared.splits.test.y[example]]}" for example in rows], fontsize=7)
    _title(figure, "Feature maps: what each conv/pool layer outputs for one test example per class "
           "(yellow: strong response)", height)
    figure.subplots_adjust(bottom=0.02, left=0.07, right=0.99, wspace=0.06)
    return save_figure(figure, path)


def _resized(tile: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so a 2×2 pooled map sits beside an 8×8 one at the same size."""
    rows = (np.arange(size) * tile.shape[0] // size)
    columns = (np.arange(size) * tile.shape[1] // size)
    return tile[np.ix_(rows, columns)]


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
        return save_figure(figure, path)
    if test.x.shape[1] == 2:
        plt = pyplot()
        figure, axis = plt.subplots(figsize=(6, 5))
        labels = test.y if prepared.dataset.kind == "classes" else None
        if labels is not None:  # the decision regions behind the points
            xx, yy = inside.plane(prepared, 80)
            outputs = inside.model_outputs(model, inside.normalised(prepared, np.c_[xx.ravel(), yy.ravel()]))
            _regions(axis, _classes(outputs, prepared).reshape(xx.shape), xx, yy, alpha=0.2)
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
        return save_figure(figure, path)
    plt = pyplot()
    names = prepared.dataset.feature_names[:5]
    headers = ["row", "true", "predicted", "loss" if not regression else "|error|"] + [n[:12] for n in names]
    cells = [[str(m.index), m.true, m.predicted + (f" ({m.probability:.2f})" if m.probability is not None else ""),
              f"{m.loss:.3g}"] + [f"{value:.3g}" for value in m.features[:5]] for m in found]
    figure, axis = plt.subplots(figsize=(1.3 * len(headers), 0.25 * len(cells) + 0.7))
    axis.axis("off")
    table = axis.table(cellText=cells, colLabels=headers, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    axis.set_title(f"The {len(found)} test examples with the {what}"
                   + (" (first 5 features)" if len(prepared.dataset.feature_names) > 5 else ""))
    return save_figure(figure, path)


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
            classes = _classes(inside.model_outputs(model, points), prepared).reshape(xx.shape)
            _regions(axis, classes, xx, yy, alpha=0.35)
            _points(axis, prepared)
            axis.set_title("the saved model" if epoch == epochs[-1] else f"after epoch {epoch}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
    finally:
        model.set_weights(final)
    return save_figure(figure, path)


def _regions(axis, classes: np.ndarray, xx: np.ndarray, yy: np.ndarray, alpha: float) -> None:
    """The predicted class over the plane, as a light background in each class's colour."""
    axis.imshow(classes, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()), aspect="auto",
                cmap="tab10", vmin=-0.5, vmax=9.5, alpha=alpha, interpolation="nearest")


def _classes(outputs: np.ndarray, prepared: Prepared) -> np.ndarray:
    from nnlearn.model.task import classes, output_reading

    return classes(outputs, prepared.task, output_reading(prepared.config))


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
