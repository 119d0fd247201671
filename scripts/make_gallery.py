"""Draw every picture nnlearn makes, for each shipped config, into docs/images/gallery/, and write
docs/gallery.md showing them; also the pictures the README shows (docs/images/*.png).

    python scripts/make_gallery.py            # all of it (about two minutes on two cores)
    python scripts/make_gallery.py --sizes    # only print each picture's size in pixels, write nothing

Besides the shipped configs it draws two made here, to show what they need: a folder of colour (RGB)
images, and a classifier with 40 classes (its confusion matrix in the compact form). Every run trains
as `nnlearn train` would; the PNGs are stored with a palette of at most 256 colours to keep them small.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GALLERY = ROOT / "docs" / "images" / "gallery"
PAGE = ROOT / "docs" / "gallery.md"

# (name, config file, overrides, what it shows): the shipped configs as they are
RUNS = [
    ("coffee_roasting", "configs/coffee_roasting.yaml", [], "Two features, three sigmoid units (the course lab)"),
    ("moons_mlp", "configs/moons_mlp.yaml", [], "Two features, two ReLU layers"),
    ("exam_scores", "configs/exam_scores.yaml", [], "Logistic regression on two exam scores"),
    ("iris_softmax", "configs/iris_softmax.yaml", [], "Softmax over 3 classes, 4 features"),
    ("logistic_regression", "configs/logistic_regression.yaml", [], "One sigmoid unit, 30 features"),
    ("softmax_digits", "configs/softmax_digits.yaml", [], "A dense network on 8×8 digit images"),
    ("cnn_digits", "configs/cnn_digits.yaml", [], "A CNN on 8×8 digit images"),
    ("shapes_cnn", "configs/shapes_cnn.yaml", [], "A CNN on a folder of 28×28 grayscale images"),
    ("signals_conv1d", "configs/signals_conv1d.yaml", [],
     "Conv1d on synthetic signals: the pictures that apply to any classifier"),
    ("mlp_regression", "configs/mlp_regression.yaml", [], "Regression on 10 features (diabetes)"),
]
MADE_HERE = [
    ("colour_shapes", "A CNN on a folder of colour (RGB) images, made by this script"),
    ("forty_classes", "40 classes (blobs): the confusion matrix's compact form, the classes named by a colour bar"),
]
SHOWN_OF_MADE_HERE = {"colour_shapes": {"filters", "feature_maps", "mistakes"},
                      "forty_classes": {"confusion_matrix", "decision_boundary"}}  # the rest is as above
COLOUR_CONFIG = """\
name: colour-shapes
seed: 0
data: {{source: {folder}, image_size: [24, 24], color: rgb, test_split: 0.25, validation_split: 0.1,
       normalize: minmax}}
model:
  layers:
    - {{type: conv2d, filters: 8, kernel_size: 3, activation: relu}}
    - {{type: max_pooling2d, pool_size: 2}}
    - {{type: conv2d, filters: 8, kernel_size: 3, activation: relu}}
    - {{type: max_pooling2d, pool_size: 2}}
    - {{type: flatten}}
    - {{type: dense, units: 3}}
compile: {{loss: sparse_categorical_crossentropy, from_logits: true, optimizer: {{learning_rate: 0.003}}}}
fit: {{epochs: 25, batch_size: 32}}
"""
FORTY_CLASSES = """\
name: forty-classes
seed: 0
data: {source: blobs, n_samples: 2000, centers: 40, n_features: 2, noise: 1.0}
model:
  layers:
    - {type: dense, units: 32, activation: relu}
    - {type: dense, units: 40}
compile: {loss: sparse_categorical_crossentropy, from_logits: true, optimizer: {learning_rate: 0.01}}
fit: {epochs: 20, batch_size: 64}
"""
# what each picture is, in the order the page shows them
PICTURES = {
    "learning_curves": "the loss (the cost J) and each metric per epoch, training against validation",
    "confusion_matrix": "true class against predicted class on the test split",
    "decision_boundary": "the predicted class or probability over the input plane, the training points on top",
    "decision_boundary_epochs": "the decision boundary after a few epochs of training, on shared axes",
    "predicted_vs_true": "regression: the prediction ŷ against the truth y on the test split",
    "units": "what each hidden unit computes (two features), or the first layer's weights",
    "filters": "the first conv2d layer's kernels",
    "feature_maps": "what each conv and pool layer outputs for one test example per class",
    "mistakes": "the test examples the model gets wrong (regression: its largest errors)",
}
# the pictures the README shows: (gallery run, picture) -> docs/images/NAME
README_IMAGES = {
    ("coffee_roasting", "units"): "units_coffee.png",
    ("coffee_roasting", "decision_boundary_epochs"): "decision_boundary_epochs_coffee.png",
    ("softmax_digits", "units"): "units_digits.png",
    ("cnn_digits", "filters"): "filters_cnn.png",
    ("cnn_digits", "feature_maps"): "feature_maps_cnn.png",
    ("cnn_digits", "mistakes"): "mistakes_cnn.png",
    ("mlp_regression", "units"): "units_regression.png",
    ("colour_shapes", "feature_maps"): "feature_maps_colour.png",
    ("colour_shapes", "mistakes"): "mistakes_colour.png",
}


def colour_shapes(folder: Path, per_class: int = 60, size: int = 24, seed: int = 0) -> Path:
    """A folder of RGB PNGs: a circle, a square or a triangle, each in a random bright colour on a dark,
    noisy background (the colour does not tell the class: the shape does)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for shape in ("circle", "square", "triangle"):
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for number in range(per_class):
            background = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            image = Image.fromarray(background, "RGB")
            draw = ImageDraw.Draw(image)
            colour = tuple(int(value) for value in rng.integers(120, 256, 3))
            radius = rng.uniform(5, 8)
            cx, cy = rng.uniform(radius + 1, size - radius - 1, 2)
            if shape == "circle":
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            elif shape == "square":
                draw.rectangle([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            else:
                draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)],
                             fill=colour)
            image.save(folder / shape / f"{number:03d}.png")
    return folder


def train_all(work: Path) -> dict[str, dict[str, Path]]:
    """Train every gallery run into work/; {run name: {picture: its PNG}}."""
    from nnlearn.pictures.plots import draw_plots
    from nnlearn.training import train

    work.mkdir(parents=True, exist_ok=True)
    (work / "colour.yaml").write_text(COLOUR_CONFIG.format(folder=colour_shapes(work / "colour_shapes")))
    (work / "forty.yaml").write_text(FORTY_CLASSES)
    jobs = [(name, ROOT / path, overrides) for name, path, overrides, _ in RUNS]
    jobs += [("colour_shapes", work / "colour.yaml", []), ("forty_classes", work / "forty.yaml", [])]
    drawn = {}
    for name, path, overrides in jobs:
        run_dir = work / "runs" / name
        if not (run_dir / "model.keras").exists():  # a kept run (--work) is drawn again, not trained again
            print(f"training {name} ...", flush=True)
            shutil.rmtree(run_dir, ignore_errors=True)
            train(path, overrides, out=run_dir)
        shown = SHOWN_OF_MADE_HERE.get(name)
        drawn[name] = {png.stem: png for png in draw_plots(run_dir) if shown is None or png.stem in shown}
    return drawn


def pixels(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def small_copy(source: Path, target: Path) -> None:
    """The PNG with a palette of 128 colours: a fraction of the bytes, the same picture to the eye."""
    from PIL import Image

    with Image.open(source) as image:
        image.convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            target, optimize=True)


def write_page(drawn: dict[str, dict[str, Path]]) -> None:
    about = {name: text for name, _, _, text in RUNS} | dict(MADE_HERE)
    order = list(PICTURES)
    lines = ["# Gallery: every picture nnlearn draws", "",
             "Each shipped config trained as `nnlearn train CONFIG` trains it, with the pictures it draws into",
             "`RUN_DIR/plots/` (each appears only where it applies: `mistakes.png` only when some test example",
             "is wrong). Two more runs are made by the script, to show what they need: a folder of colour images,",
             "and 40 classes. Regenerate with `python scripts/make_gallery.py`; sizes are in pixels as drawn (at",
             "most 2400 on a side), and the copies here use a palette of 128 colours to stay small.", "",
             "| run | " + " | ".join(f"`{picture}`" for picture in order) + " |",
             "| --- | " + " | ".join("---" for _ in order) + " |"]
    for name, pictures in drawn.items():
        cells = [f"[✓](#{name.replace('_', '-')})" if picture in pictures else "" for picture in order]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, pictures in drawn.items():
        shipped = name in {run[0] for run in RUNS}
        lines += [f"## {name.replace('_', '-')}", "", f"{about[name]}" + (f" (`configs/{name}.yaml`)." if shipped
                                                                           else "."), ""]
        for picture in sorted(pictures, key=lambda stem: order.index(stem) if stem in order else len(order)):
            width, height = pixels(pictures[picture])
            lines += [f"**{picture}.png** ({width}×{height}): {PICTURES.get(picture, picture)}.", "",
                      f"![{name}: {picture}](images/gallery/{name}_{picture}.png)", ""]
    PAGE.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", action="store_true", help="only print the pictures' sizes")
    parser.add_argument("--work", type=Path, help="keep the trained runs in this folder and draw them again "
                                                  "from there next time (to change a picture, not the runs)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        drawn = train_all(arguments.work or Path(folder))
        for name, pictures in drawn.items():
            for picture, path in pictures.items():
                width, height = pixels(path)
                print(f"{name:20} {picture:26} {width:5}×{height:<5} {path.stat().st_size // 1024:5} KiB")
        if arguments.sizes:
            return
        shutil.rmtree(GALLERY, ignore_errors=True)
        GALLERY.mkdir(parents=True)
        for name, pictures in drawn.items():
            for picture, path in pictures.items():
                small_copy(path, GALLERY / f"{name}_{picture}.png")
        for (name, picture), target in README_IMAGES.items():
            if picture not in drawn[name]:  # e.g. no mistakes.png: every test example right this time
                print(f"{name} drew no {picture}.png: docs/images/{target} is left as it was")
                continue
            small_copy(drawn[name][picture], ROOT / "docs" / "images" / target)
        write_page(drawn)
    print(f"wrote {PAGE.relative_to(ROOT)} and {len(list(GALLERY.glob('*.png')))} pictures")


if __name__ == "__main__":
    main()
