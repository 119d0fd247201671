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
from nnlearn.model.task import classes, output_reading
from nnlearn.pictures.drawing import (
    LEGEND_ENTRIES,
    class_colours,
    class_legend,
    class_names_of,
    class_regions,
    is_colour,
    legend_handles,
    picture_of,
    scatter_classes,
)
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
    """The training points (at most limit of them, evenly picked), coloured and shaped by class."""
    train = prepared.splits.train
    picks = np.linspace(0, len(train) - 1, min(limit, len(train))).astype(int)
    labels = train.y[picks] if prepared.dataset.kind == "classes" else None
    scatter_classes(axis, train.x[picks], labels, class_names_of(prepared), size=7, edge=0.3)


def _figure_legend(figure, prepared: Prepared, height: float, shaped: bool = True) -> None:
    """The point colours, named, under the figure's title: a row of legend entries up to 8 classes, else
    a thin colour bar from the first class to the last."""
    names = class_names_of(prepared)
    if prepared.dataset.kind == "classes" and len(names) > 8:
        from matplotlib.cm import ScalarMappable

        colours, norm = class_regions(len(names))
        strip = figure.add_axes((0.3, 1 - 0.72 / height, 0.4, 0.1 / height))
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=colours), cax=strip, orientation="horizontal")
        ticks = np.unique(np.linspace(0, len(names) - 1, 6).round().astype(int))
        bar.set_ticks(ticks, labels=[names[tick] for tick in ticks], fontsize=7)
        bar.minorticks_off()
        strip.set_title(f"points: the training examples, coloured by true class ({len(names)} classes)", fontsize=7.5)
        return
    handles = legend_handles(names, with_none=prepared.dataset.kind != "classes", shaped=shaped)
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.5 / height),
                  ncol=len(handles), fontsize=7.5, frameon=False, handletextpad=0.2, columnspacing=1.0,
                  title="points: the training examples, by true class" if prepared.dataset.kind == "classes"
                  else None, title_fontsize=7.5)


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
    return _weight_bars(units, prepared.dataset.feature_names, path)


def _weight_bars(units: list[inside.UnitWeights], names: list[str], path: Path, named: int = 40) -> Path:
    """A panel of bars per unit: its weight on each feature, all panels on one scale; the features named
    down the first panel of each row (up to named of them, else in a note below)."""
    plt = pyplot()
    columns = min(4, len(units))
    rows = math.ceil(len(units) / columns)
    panel = max(2.6, 0.15 * len(names) + 0.6) if len(names) <= named else 2.6
    height = rows * panel + 1.0
    figure, axes = plt.subplots(rows, columns, figsize=(2.6 * columns + 1.4, height), squeeze=False,
                                sharex=True)
    for axis in axes.ravel()[len(units):]:
        axis.axis("off")
    _title(figure, "First layer: the weight w of each input feature\n(one panel per unit, all on one scale; red "
           "pushes the unit's z up, blue down)", height)
    limit = 1.05 * max(float(np.max(np.abs(unit.weights))) for unit in units) or 1.0
    for number, (axis, unit) in enumerate(zip(axes.ravel(), units)):
        weights = np.array(unit.weights)
        axis.barh(range(len(weights)), weights, color=np.where(weights >= 0, "tab:red", "tab:blue"))
        # feature names on the first panel of each row only: they are the same for every unit
        shown = number % columns == 0 and len(names) <= named
        axis.set_yticks(range(len(weights)), [name[:20] for name in names] if shown else [], fontsize=7.5)
        axis.invert_yaxis()
        axis.set_xlim(-limit, limit)
        axis.axvline(0, color="black", linewidth=0.5)
        axis.set_title(f"unit {unit.unit}: bias b = {unit.bias:+.2f}", fontsize=8)
        axis.tick_params(axis="x", labelsize=7, labelbottom=True)
        if number >= len(units) - columns:  # the bottom panel of each column
            axis.set_xlabel("weight w", fontsize=7.5)
    if len(names) > named:
        figure.text(0.5, 0.005, f"bars top to bottom: the {len(names)} features in the data's order "
                    f"({names[0]}, {names[1]}, …, {names[-1]})", ha="center", fontsize=7.5)
    figure.subplots_adjust(hspace=0.45, wspace=0.1, left=0.2 if len(units) == 1 else 0.12)
    return save_figure(figure, path)


def _unit_planes_plot(model, prepared: Prepared, path: Path, steps: int = 100, gap: int = 24) -> Path | None:
    """Every hidden unit's activation over the plane, as tiles of one picture (each on its own colour
    scale), with the training points on every tile, coloured by class and named in a legend."""
    xx, yy, planes = inside.unit_planes(model, prepared, steps)
    if not planes:
        return None
    columns = min(8, len(planes))  # 16 units a layer: two rows of 8, so two layers fit a 1920×1080 screen
    sheet = mosaic([_scaled(unit.values)[::-1] for unit in planes], columns, gap)  # row 0 at the top
    train = prepared.splits.train
    picks = np.linspace(0, len(train) - 1, min(300, len(train))).astype(int)
    across = (train.x[picks, 0] - xx.min()) / (xx.max() - xx.min()) * (steps - 1)
    up = (steps - 1) - (train.x[picks, 1] - yy.min()) / (yy.max() - yy.min()) * (steps - 1)
    classified = prepared.dataset.kind == "classes"
    names = class_names_of(prepared)
    colours = (np.array(class_colours(len(names)))[train.y[picks].astype(int)] if classified
               else np.tile([1.0, 1.0, 1.0, 1.0], (len(picks), 1)))
    plt = pyplot()
    rows = math.ceil(len(planes) / columns)
    height = 2.0 * rows + 1.1
    figure, axis = plt.subplots(figsize=(2.0 * columns, height))
    axis.imshow(sheet, cmap="viridis", vmin=0, vmax=1)
    for number, unit in enumerate(planes):
        row, column = divmod(number, columns)
        left, top = column * (steps + gap), row * (steps + gap)
        axis.scatter(across + left, up + top, color=colours, s=5, edgecolors="black", linewidths=0.25)
        low, high = float(unit.values.min()), float(unit.values.max())
        state = "dead: never fires" if unit.activation == "relu" and high <= 0 else \
            f"a from {_short(low)} to {_short(high)}"
        axis.text(left + steps / 2, top - 2, f"layer {unit.layer}, unit {unit.unit} ({unit.activation})\n{state}",
                  ha="center", va="bottom", fontsize=7.5)
    axis.set_xlim(-1, sheet.shape[1])
    axis.set_ylim(sheet.shape[0], -gap)
    axis.axis("off")
    axis.set_anchor("N")  # the tiles right under the legend, whatever space is left below
    features = prepared.dataset.feature_names
    figure.suptitle(f"What each hidden unit computes: its activation g(w·x + b) over the inputs\n(every tile: "
                    f"{features[0]} {xx.min():.3g} to {xx.max():.3g} across, {features[1]} {yy.min():.3g} to "
                    f"{yy.max():.3g} up; yellow: the unit fires most, dark: least)", fontsize=8.5,
                    y=1 - 0.08 / height)
    _figure_legend(figure, prepared, height, shaped=False)
    figure.subplots_adjust(top=1 - 0.95 / height, bottom=0.01, left=0.01, right=0.99)
    return save_figure(figure, path)


def _short(value: float) -> str:
    """An activation as a learner reads it: 2 significant digits, and 0 for what only rounding keeps off 0."""
    return "0" if abs(value) < 0.005 else f"{value:.2g}"


def _weight_images(units: list[inside.UnitWeights], image_shape, path: Path) -> Path:
    height, width = image_shape[0], image_shape[1]
    columns = min(8, len(units))
    figure, axes = _panels(len(units), columns, f"First hidden layer: each unit's weights w as a {height}×{width} "
                           "image (red: pixels that push it up, blue: down; each unit on its own scale)", size=1.6)
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
    averaged = f", each the mean over its {kernels.shape[3]} input channels" if kernels.shape[3] > 1 else ""
    shown = kernels[:64].mean(axis=3)
    limit = float(np.abs(shown).max()) or 1.0
    columns = min(8, len(shown))
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(0.75 * columns + 1.5, 0.75 * math.ceil(len(shown) / columns) + 0.9))
    image = axis.imshow(mosaic(list(shown), columns), cmap="RdBu_r", vmin=-limit, vmax=limit)
    axis.axis("off")
    figure.colorbar(image, ax=axis, fraction=0.04, label="weight")
    axis.set_title(f"First conv2d layer: its {len(kernels)} filters ({kernels.shape[1]}×{kernels.shape[2]} "
                   f"kernels{averaged}, left to right, top to bottom)\nred: the pattern it looks for; blue: the "
                   "opposite", fontsize=9)
    return save_figure(figure, path)


CHANNELS_SHOWN = 6  # per layer in feature_maps.png: its strongest channels for the chosen example


def feature_maps_plot(model, prepared: Prepared, path: Path, channels: int = CHANNELS_SHOWN) -> Path | None:
    """One chosen test example (inside.chosen_example) as the network sees it: the input as it is (in
    colour for colour images), then a row per conv/pool layer with its strongest channels, each titled,
    on one colour scale per layer with its colour bar."""
    if len(prepared.input_shape) != 3 or not len(prepared.splits.test):
        return None
    index, why = inside.chosen_example(model, prepared)
    maps = inside.feature_maps(model, prepared, [index])
    if not maps:
        return None
    plt = pyplot()
    shown = min(channels, max(outputs.shape[-1] for _, outputs in maps))
    height = 1.75 * (len(maps) + 1) + 0.9
    figure, axes = plt.subplots(len(maps) + 1, shown, figsize=(1.55 * shown + 1.6, height), squeeze=False)
    file = inside.file_of(prepared, index)
    _title(figure, f"Feature maps: what each conv and pool layer outputs for one test example\n{why}"
           + (f": {file}" if file else f", test row {index}") + "; per layer its strongest channels", height)
    figure.subplots_adjust(hspace=0.45, wspace=0.12, left=0.09, right=0.9, bottom=0.02)
    _input_row(axes[0], prepared, index)
    for row, (layer_name, outputs) in zip(axes[1:], maps):
        _layer_row(figure, row, layer_name, outputs[0])
    return save_figure(figure, path)


def _input_row(axes, prepared: Prepared, index: int) -> None:
    """The example as it is, first in its row; a colour image's red, green and blue channels beside it
    (what the first conv layer's windows read, each in grey); the rest of the row left empty."""
    test, image_shape = prepared.splits.test, prepared.dataset.image_shape or prepared.input_shape
    low, high = _pixel_range(prepared)
    picture, style = picture_of(test.x[index], image_shape, low, high)
    tiles = [("the input", picture, style)]
    if is_colour(image_shape):
        channels = np.asarray(test.x[index], dtype=np.float64).reshape(image_shape)
        tiles += [(f"its {name} channel", channels[:, :, number], {"cmap": "gray", "vmin": low, "vmax": high})
                  for number, name in enumerate(("red", "green", "blue"))]
    for axis, (title, tile, look) in zip(axes, tiles):
        axis.imshow(tile, interpolation="nearest", **look)
        axis.set_title(title, fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0].set_ylabel(f"input\n{'×'.join(map(str, image_shape))}", fontsize=7.5)
    for axis in axes[len(tiles):]:
        axis.axis("off")


def _layer_row(figure, axes, layer_name: str, outputs: np.ndarray) -> None:
    """One layer's strongest channels for the example (by mean output), on the layer's one colour scale."""
    strongest = np.argsort(-outputs.mean(axis=(0, 1)), kind="stable")[:len(axes)]
    low, high = float(outputs[:, :, strongest].min()), float(outputs[:, :, strongest].max())
    image = None
    for axis, channel in zip(axes, strongest):
        image = axis.imshow(outputs[:, :, channel], cmap="viridis", vmin=low, vmax=high if high > low else low + 1,
                            interpolation="nearest")
        axis.set_title(f"channel {channel}", fontsize=7.5)
        axis.set_xticks([])
        axis.set_yticks([])
    for axis in axes[len(strongest):]:
        axis.axis("off")
    axes[0].set_ylabel(f"{layer_name}\n{'×'.join(map(str, outputs.shape))}", fontsize=7.5)
    last = axes[-1].get_position()  # the layout is set: the bar goes just right of the row, as tall as it
    bar = figure.colorbar(image, cax=figure.add_axes((last.x1 + 0.012, last.y0, 0.012, last.height)))
    bar.ax.tick_params(labelsize=6.5)
    bar.set_label("output", fontsize=7)


def _pixel_range(prepared: Prepared) -> tuple[float, float]:
    """The pixels' range as the data holds them (image folders: 0..255; the bundled digits: 0..16)."""
    if prepared.dataset.images is not None:
        return 0.0, 255.0
    x = prepared.splits.train.x
    return float(np.min(x)), float(np.max(x))


def mistakes_plot(model, prepared: Prepared, path: Path, count: int = inside.MISTAKES_SHOWN) -> Path | None:
    """The test examples the model gets wrong, highest loss first (regression: the largest errors): as
    images (in colour for colour images, each named by its file), as circled points on the decision
    regions, or as rows of a table. None when every test example is right."""
    found = inside.mistakes(model, prepared, count)
    if not found:
        return None
    title = inside.mistakes_title(found, count, prepared.dataset.kind == "continuous")
    if prepared.dataset.image_shape is not None:
        return _mistaken_images(prepared, found, title, path)
    if prepared.splits.test.x.shape[1] == 2:
        return _mistaken_points(model, prepared, found, title, path)
    return _mistaken_rows(prepared, found, title, path)


def _mistaken_images(prepared: Prepared, found: list, title: str, path: Path) -> Path:
    test, image_shape = prepared.splits.test, prepared.dataset.image_shape
    low, high = _pixel_range(prepared)
    figure, axes = _panels(len(found), min(4, len(found)), title, size=2.1)
    for rank, (axis, mistake) in enumerate(zip(axes, found), start=1):
        picture, style = picture_of(test.x[mistake.index], image_shape, low, high)
        axis.imshow(picture, interpolation="nearest", **style)
        shown = f" ({mistake.probability:.2f})" if mistake.probability is not None else ""
        axis.set_title(f"{rank}. true {mistake.true}\nsaid {mistake.predicted}{shown}", fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_xlabel(mistake.file if mistake.file else f"test row {mistake.index}", fontsize=7)
    figure.subplots_adjust(hspace=0.45)
    return save_figure(figure, path)


def _mistaken_points(model, prepared: Prepared, found: list, title: str, path: Path) -> Path:
    test = prepared.splits.test
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 5))
    classified = prepared.dataset.kind == "classes"
    names = class_names_of(prepared)
    if classified:  # the decision regions behind the points
        xx, yy = inside.plane(prepared, 80)
        outputs = inside.model_outputs(model, inside.normalised(prepared, np.c_[xx.ravel(), yy.ravel()]))
        _regions(axis, _classes(outputs, prepared).reshape(xx.shape), xx, yy, alpha=0.2, count=len(names))
    scatter_classes(axis, test.x, test.y if classified else None, names, size=16, edge=0.3,
                    unlabelled="test points")
    worst = np.array([test.x[mistake.index] for mistake in found])
    circles = axis.scatter(worst[:, 0], worst[:, 1], s=150, facecolors="none", edgecolors="red", linewidths=1.6,
                           label="a mistake (numbered: highest loss first)" if classified else
                           "a large error (numbered: largest first)")
    for rank, mistake in enumerate(found, start=1):
        axis.annotate(str(rank), test.x[mistake.index], textcoords="offset points", xytext=(6, 6),
                      fontsize=8, color="red")
    features = prepared.dataset.feature_names
    axis.set_xlabel(features[0])
    axis.set_ylabel(features[1])
    if not classified:
        axis.legend(fontsize=8, loc="best")  # the test points and the circles
    else:
        class_legend(figure, axis, names, "test points by true class (region: predicted)")
        if len(names) > LEGEND_ENTRIES:  # a colour bar names the classes: the circles get a legend of their own
            axis.legend(handles=[circles], fontsize=8, loc="best")
    axis.set_title(title, fontsize=10)
    return save_figure(figure, path)


def _mistaken_rows(prepared: Prepared, found: list, title: str, path: Path) -> Path:
    plt = pyplot()
    regression = prepared.dataset.kind == "continuous"
    names = prepared.dataset.feature_names[:5]
    headers = ["test row", "true y" if regression else "true", "predicted ŷ" if regression else "predicted (p)",
               "|ŷ − y|" if regression else "loss"] + [name[:12] for name in names]
    cells = [[str(m.index), m.true, m.predicted + (f" ({m.probability:.2f})" if m.probability is not None else ""),
              f"{m.loss:.3g}"] + [f"{value:.3g}" for value in m.features[:5]] for m in found]
    figure, axis = plt.subplots(figsize=(1.3 * len(headers), 0.25 * len(cells) + 0.7))
    axis.axis("off")
    table = axis.table(cellText=cells, colLabels=headers, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    axis.set_title(title + (" (first 5 features)" if len(prepared.dataset.feature_names) > 5 else ""), fontsize=10)
    return save_figure(figure, path)


def boundary_epochs_plot(model, prepared: Prepared, snapshots: dict[int, list[np.ndarray]],
                         path: Path, final_epoch: int = 0) -> Path | None:
    """Two-feature classifiers: the decision boundary at the kept epochs, left to right, ending with the
    saved model (after final_epoch, or the best epoch's weights with early stopping), on shared axes in
    the data's own units, the training points named by class in the legend."""
    if prepared.input_shape != (2,) or prepared.dataset.kind != "classes" or not snapshots:
        return None
    final = model.get_weights()
    snapshots = {epoch: weights for epoch, weights in snapshots.items() if epoch < final_epoch or not final_epoch}
    snapshots[final_epoch or max(snapshots, default=0) + 1] = final
    epochs = sorted(snapshots)
    xx, yy = inside.plane(prepared, 80)
    points = inside.normalised(prepared, np.c_[xx.ravel(), yy.ravel()])
    plt = pyplot()
    height = 2.4 + 1.7
    figure, axes = plt.subplots(1, len(epochs), figsize=(2.4 * len(epochs) + 0.6, height), squeeze=False,
                                sharex=True, sharey=True)
    count = prepared.dataset.n_classes
    try:
        for axis, epoch in zip(axes[0], epochs):
            model.set_weights(snapshots[epoch])
            classes = _classes(inside.model_outputs(model, points), prepared).reshape(xx.shape)
            _regions(axis, classes, xx, yy, alpha=0.35, count=count)
            _points(axis, prepared)
            axis.set_title("the saved model" if epoch == epochs[-1] else f"after epoch {epoch}", fontsize=9)
            axis.tick_params(labelsize=7)
            axis.set_xlabel(prepared.dataset.feature_names[0], fontsize=8)
    finally:
        model.set_weights(final)
    axes[0][0].set_ylabel(prepared.dataset.feature_names[1], fontsize=8)
    figure.suptitle("How training moved the decision boundary (background: the predicted class)", fontsize=10,
                    y=1 - 0.08 / height)
    _figure_legend(figure, prepared, height)
    figure.subplots_adjust(top=1 - 1.3 / height, bottom=0.14, wspace=0.08)
    return save_figure(figure, path)


def _regions(axis, classes: np.ndarray, xx: np.ndarray, yy: np.ndarray, alpha: float, count: int) -> None:
    """The predicted class over the plane, as a light background in each class's colour."""
    colours, norm = class_regions(count)
    axis.imshow(classes, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()), aspect="auto",
                cmap=colours, norm=norm, alpha=alpha, interpolation="nearest")


def _classes(outputs: np.ndarray, prepared: Prepared) -> np.ndarray:
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
