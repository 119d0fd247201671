"""How drawing grows with the number of classes: the confusion matrix alone for 10 to 300 classes, then
every picture of a trained 300-class run (a CSV of 6,000 points in 2-D). Past 30 classes the confusion
matrix takes its compact form (no number in every cell), so its cost stops growing with the square.

    python benchmarks/many_classes.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIG = """\
name: many-classes
seed: 0
data: {source: classes.csv, target: label}
model:
  layers:
    - {type: dense, units: 32, activation: relu}
    - {type: dense, units: 300}
compile: {loss: sparse_categorical_crossentropy, from_logits: true, optimizer: {learning_rate: 0.01}}
fit: {epochs: 3, batch_size: 64}
"""


def main() -> None:
    from nnlearn.pictures.drawing import png_size
    from nnlearn.pictures.plots import confusion_matrix_plot

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        print(f"{'classes':>7} {'confusion_matrix.png':>21} {'pixels':>11}")
        for classes in (10, 30, 31, 100, 300):
            matrix = rng.integers(0, 3, (classes, classes)) + np.diag(rng.integers(5, 20, classes))
            clock = time.perf_counter()
            path = confusion_matrix_plot([f"k{n:03d}" for n in range(classes)], matrix.tolist(),
                                         folder / f"matrix_{classes}.png")
            width, height = png_size(path.read_bytes())
            print(f"{classes:>7} {time.perf_counter() - clock:>20.2f}s {width:>5}×{height:<5}")
        from sklearn.datasets import make_blobs

        from nnlearn.pictures.plots import draw_plots
        from nnlearn.training import train

        x, y = make_blobs(6000, centers=300, n_features=2, random_state=0)
        (folder / "classes.csv").write_text("a,b,label\n" + "".join(
            f"{a:.4f},{b:.4f},k{int(label):03d}\n" for (a, b), label in zip(x, y)))
        (folder / "many.yaml").write_text(CONFIG)
        run = train(folder / "many.yaml", out=folder / "run")
        clock = time.perf_counter()
        drawn = draw_plots(run.run_dir)
        print(f"every picture of a 300-class run ({len(drawn)} files): {time.perf_counter() - clock:.1f} s")


if __name__ == "__main__":
    main()
