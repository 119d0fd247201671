"""Folders of images: listed and checked without TensorFlow, decoded by TensorFlow, split, scaled, trained,
predicted and drawn like every other source."""

import json
import subprocess
import sys

import numpy as np
import pytest

from nnlearn.config.loading import load_config
from nnlearn.data.dataset import load_dataset, split_indices
from nnlearn.model.prepare import prepare
from nnlearn.runs.rundir import RunDir
from tests.conftest import CONFIGS, ROOT, edited, flat, invoke

SHAPES = ROOT / "data" / "shapes"

# a tiny CNN on a small folder made in the test
FOLDER_CNN = """\
name: pics
seed: 0
data: {source: pics, image_size: [8, 8], color: grayscale, validation_split: 0}
model:
  layers:
    - {type: conv2d, filters: 2, kernel_size: 3, activation: relu}
    - {type: global_average_pooling2d}
    - {type: dense, units: 2}
compile: {loss: sparse_categorical_crossentropy}
fit: {epochs: 1, batch_size: 4}
"""


def write_pictures(folder, per_class=6):
    """Dark and bright 10×12 RGB PNGs (resized to 8×8 by the config), one folder per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("bright", 200), ("dark", 40)):
        (folder / label).mkdir(parents=True)
        for number in range(per_class):
            pixels = np.clip(level + rng.normal(0, 10, (10, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(folder / label / f"{number}.png")
    (folder / "dark" / "notes.txt").write_text("not an image: skipped, as Keras does")


def test_listing_needs_no_tensorflow(workdir, write_config):
    write_pictures(workdir / "pics")
    dataset = load_dataset(load_config(write_config(FOLDER_CNN)).data, 0, workdir)
    assert dataset.class_names == ["bright", "dark"] and dataset.y.tolist() == [0] * 6 + [1] * 6
    assert dataset.image_shape == (8, 8, 1) and dataset.n_features == 64
    result = invoke("explain", workdir / "config.yaml", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["input_shape"] == [8, 8, 1]
    code = ("import sys; from nnlearn.cli.app import app; from typer.testing import CliRunner; "
            "results = [CliRunner().invoke(app, [c, 'config.yaml']) for c in ('validate', 'explain')]; "
            "assert all(r.exit_code == 0 for r in results), [r.output for r in results]; "
            "print('tensorflow' in sys.modules)")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=workdir)
    assert ran.stdout.strip() == "False", ran.stderr[-1000:]


@pytest.mark.parametrize("make, fragment", [
    (lambda folder: (folder / "only").mkdir(parents=True), "holds 1 class folder"),
    (lambda folder: [(folder / name).mkdir(parents=True) for name in ("a", "b")], "'a' in"),
])
def test_a_folder_without_classes_or_images_is_explained(make, fragment, workdir, write_config):
    make(workdir / "pics")
    result = invoke("validate", str(write_config(FOLDER_CNN)))
    assert result.exit_code == 2 and fragment in flat(result) and "Traceback" not in result.output


def test_a_folder_needs_an_image_size(workdir, write_config):
    write_pictures(workdir / "pics")
    result = invoke("validate", str(write_config(edited(FOLDER_CNN, ("image_size: [8, 8], ", "")))))
    assert result.exit_code == 2 and "needs data.image_size" in flat(result)


@pytest.mark.tensorflow
def test_pixels_are_tensorflows_decoding_split_and_scaled(workdir, write_config):
    import tensorflow as tf

    write_pictures(workdir / "pics")
    prepared = prepare(load_config(write_config(FOLDER_CNN)), workdir)
    train, _, test = split_indices(prepared.dataset, prepared.config.data, 0, stratify=True)
    files = prepared.dataset.images.files
    # Keras' own loader, one image at a time, as an independent reference
    for split, rows in (("train", train), ("test", test)):
        expected = np.stack([tf.image.resize(tf.io.decode_png(tf.io.read_file(str(files[row])), channels=1),
                                             (8, 8)).numpy() for row in rows]) / 255.0
        assert np.allclose(prepared.x(split), expected, atol=1e-6)
    assert prepared.normalizer.scale.tolist() == [255.0] * 64


@pytest.mark.tensorflow
def test_train_predict_a_file_and_a_folder_and_eject(workdir, write_config):
    write_pictures(workdir / "pics")
    path = write_config(FOLDER_CNN)
    result = invoke("train", path, "--out", "run", "-q", "--no-plots")
    assert result.exit_code in (0, 1), result.output
    state = json.loads((workdir / "run" / "preprocessing.json").read_text())
    assert state["images"] == {"image_size": [8, 8], "channels": 1}
    one = invoke("predict", "run", "--input", "pics/dark/0.png", "--json")
    assert one.exit_code == 0, one.output
    folder = invoke("predict", "run", "--input", "pics", "--json")
    rows = json.loads(folder.stdout)["predictions"]
    assert [row["file"] for row in rows][:2] == ["bright/0.png", "bright/1.png"] and len(rows) == 12
    assert json.loads(one.stdout)["predictions"][0]["p_dark"] == pytest.approx(rows[6]["p_dark"], abs=1e-6)
    text = invoke("predict", "run", "--input", "pics/dark/notes.txt")
    assert text.exit_code == 2 and "reads an image file" in flat(text)
    script = invoke("eject", path).stdout
    assert "keras.layers.GlobalAveragePooling2D()" in script
    namespace: dict = {}
    exec(compile(script.split("# Step 1")[0], "ejected", "exec"), namespace)
    prepared = prepare(load_config(path), workdir)
    assert np.allclose(namespace["x"][namespace["test"]], prepared.x("test"))


def test_a_damaged_image_names_the_file_before_any_run_starts(workdir, write_config):
    write_pictures(workdir / "pics")
    (workdir / "pics" / "dark" / "9.png").write_bytes(b"not a png")
    result = invoke("train", str(write_config(FOLDER_CNN)), "--out", "run", "-q")
    assert result.exit_code == 2 and "pics/dark/9.png: it is not an image" in flat(result)
    assert "Traceback" not in result.output and not (workdir / "run").exists()  # opened by Pillow, not TensorFlow


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_see_inside_pictures_draw_on_the_shipped_image_folder(workdir):
    from nnlearn.pictures.plots import draw_plots

    result = invoke("train", CONFIGS / "shapes_cnn.yaml", "--set", "fit.epochs=1", "--out", "run", "-q", "--no-plots")
    assert result.exit_code in (0, 1), result.output
    assert len(list(SHAPES.glob("*/*.png"))) == 600
    drawn = {path.name for path in draw_plots(RunDir.open(workdir / "run"))}
    assert {"filters.png", "feature_maps.png", "mistakes.png", "confusion_matrix.png"} <= drawn
