"""The pictures as a person sees them: colour images stay in colour, every picture fits a screen (at most
2400 px a side), every scatter of points names its classes in a legend, and the worst-mistake lists hold
only mistakes, image mistakes named by their files."""

import json

import numpy as np
import pytest

from nnlearn.pictures.drawing import MAX_PIXELS, png_size
from nnlearn.runs.rundir import RunDir

COLOURS = {"circle": (230, 60, 40), "square": (40, 200, 80), "cross": (60, 90, 240)}
RGB_CONFIG = """\
name: colour
seed: 0
data: {source: shapes, image_size: [12, 12], color: rgb, test_split: 0.5, validation_split: 0, normalize: minmax}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, activation: relu}
    - {type: max_pooling2d, pool_size: 2}
    - {type: flatten}
    - {type: dense, units: 3}
compile: {loss: sparse_categorical_crossentropy, from_logits: true}
fit: {epochs: 1, batch_size: 8}
"""
MOONS_CONFIG = """\
name: moons
seed: 0
data: {source: moons, n_samples: 200}
model:
  layers:
    - {type: dense, units: 4, activation: relu}
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, from_logits: true, optimizer: {learning_rate: 0.01}}
fit: {epochs: 3, batch_size: 32}
"""


def coloured_shapes(folder, per_class: int = 8, size: int = 12):
    """Bright shapes in one colour per class on black: a picture drawn grey has lost what tells them apart."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (folder / name).mkdir(parents=True)
        for number in range(per_class):
            image = Image.new("RGB", (size, size))
            draw = ImageDraw.Draw(image)
            left, top = rng.integers(0, 4, 2)
            if name == "circle":
                draw.ellipse([left, top, left + 7, top + 7], fill=colour)
            elif name == "square":
                draw.rectangle([left, top, left + 7, top + 7], fill=colour)
            else:
                draw.line([left, top, left + 7, top + 7], fill=colour, width=2)
                draw.line([left, top + 7, left + 7, top], fill=colour, width=2)
            image.save(folder / name / f"{number:02d}.png")


def coloured_share(png_path) -> float:
    """The share of a PNG's pixels that are clearly coloured (not grey, white or black)."""
    from PIL import Image

    with Image.open(png_path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    return float(np.mean(pixels.max(axis=2) - pixels.min(axis=2) > 80))


@pytest.fixture
def figures(monkeypatch):
    """Every figure the plots save, by file name, kept open for the test to look at its artists."""
    from nnlearn.pictures import figures as saving
    from nnlearn.pictures import inside_plots, plots
    from nnlearn.runs.rundir import write_atomic

    kept = {}

    def keeping(figure, path):  # as figures.save_figure, without closing the figure
        kept[path.name] = figure
        write_atomic(path, saving._png(figure, 100))
        return path

    monkeypatch.setattr(plots, "save_figure", keeping)
    monkeypatch.setattr(inside_plots, "save_figure", keeping)
    yield kept
    for figure in kept.values():
        saving.pyplot().close(figure)


@pytest.fixture
def colour_run(workdir):
    from nnlearn.training.train import train

    coloured_shapes(workdir / "shapes")
    (workdir / "colour.yaml").write_text(RGB_CONFIG)
    return train(workdir / "colour.yaml").run_dir


@pytest.mark.tensorflow
def test_colour_images_are_drawn_in_colour_and_mistakes_name_their_files(colour_run, workdir):
    from nnlearn.pictures.plots import draw_plots

    drawn = {path.name: path for path in draw_plots(RunDir.open(colour_run))}
    assert {"feature_maps.png", "mistakes.png", "filters.png"} <= set(drawn)
    for path in drawn.values():
        assert max(png_size(path.read_bytes())) <= MAX_PIXELS, path.name
    # the shapes are red, green and blue on black: drawn as grey (the channels' mean), no pixel is coloured
    assert coloured_share(drawn["mistakes.png"]) > 0.02
    numbers = json.loads((colour_run / "plots" / "inside.json").read_text())
    assert numbers["mistakes"], "one epoch on 12 images leaves mistakes to show"
    for mistake in numbers["mistakes"]:
        assert mistake["true"] != mistake["predicted"]
        assert (workdir / "shapes" / mistake["file"]).is_file() and mistake["file"].split("/")[0] == mistake["true"]
    from nnlearn.pictures.report import run_report

    page = run_report(RunDir.open(colour_run))  # the report names them by file too
    assert "<th>file</th>" in page and f"<td>{numbers['mistakes'][0]['file']}</td>" in page


@pytest.mark.tensorflow
def test_feature_maps_show_the_input_in_colour_and_each_layer_with_its_colour_bar(colour_run, figures):
    from nnlearn.pictures.plots import draw_plots

    draw_plots(RunDir.open(colour_run))
    figure = figures["feature_maps.png"]
    by_title = {axis.get_title(): axis for axis in figure.axes if axis.get_title()}
    shown = np.asarray(by_title["the input"].images[0].get_array())
    assert shown.ndim == 3 and shown.shape[2] == 3  # drawn as RGB, not one grey channel
    assert np.abs(shown[..., 0] - shown[..., 1]).max() > 0.3  # and the channels differ: it is coloured
    assert {"its red channel", "its green channel", "its blue channel"} <= set(by_title)
    bars = [axis for axis in figure.axes if axis.get_ylabel() == "output"]  # a colour bar per conv/pool layer
    assert len(bars) == 2
    assert all(title.startswith("channel ") for title in by_title if title not in (
        "the input", "its red channel", "its green channel", "its blue channel"))


@pytest.mark.tensorflow
def test_scatters_name_their_classes_and_the_boundary_tiles_have_axes(workdir, figures):
    from nnlearn.pictures.plots import draw_plots
    from nnlearn.training.train import train

    (workdir / "moons.yaml").write_text(MOONS_CONFIG)
    drawn = {path.name for path in draw_plots(RunDir.open(train(workdir / "moons.yaml").run_dir))}
    assert {"units.png", "decision_boundary_epochs.png", "decision_boundary.png"} <= drawn
    for name in ("units.png", "decision_boundary_epochs.png"):
        legends = figures[name].legends
        assert legends and [text.get_text() for text in legends[0].get_texts()] == ["class 0", "class 1"], name
    tiles = [axis for axis in figures["decision_boundary_epochs.png"].axes if axis.get_title()]
    assert tiles and all(axis.get_xlabel() == "x1" for axis in tiles) and tiles[0].get_ylabel() == "x2"
    assert all(len(axis.get_xticks()) > 1 for axis in tiles)  # the data's own units, on every tile
    boundary = figures["decision_boundary.png"].axes[0].get_legend()
    assert [text.get_text() for text in boundary.get_texts()] == ["class 0", "class 1"]


def test_many_classes_get_the_compact_confusion_matrix_within_the_size_limit(tmp_path, figures):
    from nnlearn.pictures.plots import COMPACT_CLASSES, confusion_matrix_plot

    rng = np.random.default_rng(0)
    for classes in (COMPACT_CLASSES, 300):
        labels = [f"class-{number}" for number in range(classes)]
        matrix = rng.integers(0, 3, (classes, classes)) + np.diag(rng.integers(5, 20, classes))
        path = confusion_matrix_plot(labels, matrix.tolist(), tmp_path / f"matrix_{classes}.png")
        assert max(png_size(path.read_bytes())) <= MAX_PIXELS
        axis = figures[path.name].axes[0]
        if classes == COMPACT_CLASSES:  # still one number in every cell
            assert len(axis.texts) == classes * classes
        else:  # no number per cell, about 20 class names an axis, the most confused pairs named beside it
            assert len(axis.texts) == 0 and len(axis.get_xticks()) <= 20
            side = figures[path.name].axes[1].texts[0].get_text()
            assert side.startswith("Most confused") and "→" in side


def test_a_figure_too_large_for_a_screen_is_drawn_within_the_limit(tmp_path):
    from nnlearn.pictures.figures import pyplot, save_figure

    figure, axis = pyplot().subplots(figsize=(60, 8))
    axis.plot([0, 1], [0, 1])
    width, height = png_size(save_figure(figure, tmp_path / "wide.png").read_bytes())
    assert width <= MAX_PIXELS and width > MAX_PIXELS - 50 and height < width / 5
