"""Runs whose verdict is known by construction, over every task nnlearn trains: binary, multi-class,
multi-label, regression, images and streamed data.

- learned nothing: the labels shuffled apart from their rows, so x says nothing about y
- high bias: a hidden layer of one unit (a bottleneck) on a task one number cannot carry
- high variance: a wide network on 60 noisy points for hundreds of epochs (it memorises them)
- diverged: plain gradient descent (sgd) at a learning rate of 50
- still improving: 3 epochs at a small learning rate (the loss has barely begun to fall)
- healthy: the shipped configs (trained by tests/test_shipped_configs.py), and two more

Each scenario names the verdicts accepted for it: its truth, and where the truth itself is two-sided, the
other side, with the reason. tests/scenarios/test_scenarios.py trains each one and checks its verdict;
benchmarks/diagnosis_scenarios.py prints the confusion table of truth against verdict.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SHAPES = ROOT / "data" / "shapes"

TASKS = ("binary", "multi-class", "multi-label", "regression", "images", "streamed")
VERDICTS = ("diverged", "still_improving", "learned_nothing", "high_bias", "high_variance", "healthy")


@dataclass
class Scenario:
    """One run: its config (YAML, data files relative to its folder), the data files it needs, and the
    verdicts accepted for it (its truth first)."""

    name: str
    task: str
    truth: str
    config: str
    files: dict = field(default_factory=dict)  # file or folder name → function(path) that writes it
    also: tuple[str, ...] = ()  # other verdicts accepted, each with its reason in `why`
    why: str = ""
    shipped: bool = False  # a shipped config (configs/NAME.yaml), trained by test_shipped_configs.py

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.truth,) + self.also

    def write(self, folder: Path) -> Path:
        """The config and its data files in folder; returns the config's path."""
        if self.shipped:
            return CONFIGS / f"{self.name}.yaml"
        for name, make in self.files.items():
            make(folder / name)
        path = folder / f"{self.name}.yaml"
        path.write_text(textwrap.dedent(self.config))
        return path


# --- data files, each seeded -----------------------------------------------------------------------------

def _npz(x: np.ndarray, y: np.ndarray):
    def write(path: Path) -> None:
        np.savez(path, x=x, y=y)
    return write


def _csv(x: np.ndarray, y: np.ndarray, target: str = "y"):
    def write(path: Path) -> None:
        header = ",".join([f"x{i + 1}" for i in range(x.shape[1])] + [target])
        rows = [",".join([f"{value:.6g}" for value in row] + [f"{label:g}"]) for row, label in zip(x, y)]
        path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return write


def _bundled(name: str):
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    return bunch.data, bunch.target


def _shuffled(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """y shuffled apart from its rows: x says nothing about y."""
    return x, np.random.default_rng(seed).permutation(y)


def _circles(rows: int, seed: int = 0):
    from sklearn.datasets import make_circles

    return make_circles(rows, noise=0.05, factor=0.5, random_state=seed)


def _ring(rows: int, seed: int = 0):
    """A regression whose y is a bump in the middle of the plane: one ReLU unit can only draw a ramp."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (rows, 2))
    return x, np.exp(-(x ** 2).sum(axis=1)) * 10


def _multilabel(rows: int, seed: int = 0):
    from sklearn.datasets import make_multilabel_classification

    x, y = make_multilabel_classification(rows, n_features=10, n_classes=3, random_state=seed)
    return x.astype(np.float64), y


def _noisy_labels(rows: int, seed: int = 0):
    """Three yes/no labels, each a noisy function of x."""
    x, y = _noisy_classes(rows, 2, 4, seed)
    rng = np.random.default_rng(seed + 1)
    labels = np.stack([y, (x[:, 1] + rng.normal(0, 1.5, rows) > 0), (x[:, 2] + rng.normal(0, 1.5, rows) > 0)], 1)
    return x, labels.astype(np.int64)


def _noisy_classes(rows: int, classes: int = 2, features: int = 4, seed: int = 0):
    """Classes that overlap: each class's mean one step along every feature from the last, in noise of
    spread 1 (a model that draws the right boundary gets about 5 in 6 right)."""
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % classes
    x = rng.normal(0, 1, (rows, features)) + 0.8 * y[:, None]
    return x, y


def _images(per_class: int, shuffled: bool = False, seed: int = 0):
    """A small folder of the shipped shapes (per_class of each); shuffled: each image in a random class."""
    def write(path: Path) -> None:
        rng = np.random.default_rng(seed)
        files = [file for shape in ("circle", "square", "triangle")
                 for file in sorted((SHAPES / shape).glob("*.png"))[:per_class]]
        names = [file.parent.name for file in files]
        if shuffled:
            names = list(rng.permutation(names))
        for file, name in zip(files, names):
            (path / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, path / name / f"{file.parent.name}-{file.name}")
    return write


# --- the scenarios ---------------------------------------------------------------------------------------

def _fit(epochs: int, batch_size: int = 32) -> str:
    return f"fit: {{epochs: {epochs}, batch_size: {batch_size}}}"


BINARY = ("compile: {{loss: binary_crossentropy, from_logits: true, "
          "optimizer: {{type: {optimizer}, learning_rate: {rate}}}}}")
CLASSES = ("compile: {{loss: sparse_categorical_crossentropy, from_logits: true, "
           "optimizer: {{type: {optimizer}, learning_rate: {rate}}}}}")
SQUARED = "compile: {{loss: mean_squared_error, optimizer: {{type: {optimizer}, learning_rate: {rate}}}}}"


def _config(name: str, data: str, layers: list[str], compile_: str, fit: str, seed: int = 0, **rate) -> str:
    listed = "\n".join(f"    - {layer}" for layer in layers)
    return (f"name: {name}\nseed: {seed}\ndata: {data}\nmodel:\n  layers:\n{listed}\n"
            f"{compile_.format(optimizer=rate.get('optimizer', 'adam'), rate=rate.get('rate', 0.01))}\n{fit}\n")


def dense(units: int, activation: str = "relu") -> str:
    return f"{{type: dense, units: {units}, activation: {activation}}}"


IMAGE_DATA = "{source: shapes, image_size: [28, 28], color: grayscale, normalize: minmax}"


def learned_nothing() -> list[Scenario]:
    why = "the labels were shuffled apart from their rows"
    return [
        Scenario("nothing-binary", "binary", "learned_nothing", _config(
            "nothing-binary", "{source: rows.npz}", [dense(32), dense(1, "linear")], BINARY, _fit(100)),
            {"rows.npz": _npz(*_shuffled(*_bundled("breast_cancer")))}, why=why),
        Scenario("nothing-multiclass", "multi-class", "learned_nothing", _config(
            "nothing-multiclass", "{source: rows.npz}", [dense(32), dense(3, "linear")], CLASSES, _fit(200, 16)),
            {"rows.npz": _npz(*_shuffled(*_bundled("iris")))}, why=why),
        Scenario("nothing-multilabel", "multi-label", "learned_nothing", _config(
            "nothing-multilabel", "{source: rows.npz}", [dense(32), dense(3, "linear")], BINARY, _fit(100)),
            {"rows.npz": _npz(*_shuffled(*_multilabel(400)))}, why=why),
        Scenario("nothing-regression", "regression", "learned_nothing", _config(
            "nothing-regression", "{source: rows.npz, standardize_target: true}", [dense(32), dense(1, "linear")],
            SQUARED, _fit(100)), {"rows.npz": _npz(*_shuffled(*_bundled("diabetes")))}, why=why),
        Scenario("nothing-images", "images", "learned_nothing", _config(
            "nothing-images", IMAGE_DATA, ["{type: flatten}", dense(32), dense(3, "linear")], CLASSES,
            _fit(60)), {"shapes": _images(40, shuffled=True)}, why=why),
        Scenario("nothing-streamed", "streamed", "learned_nothing", _config(
            "nothing-streamed", "{source: rows.csv, target: y, stream: true}", [dense(32), dense(1, "linear")],
            BINARY, _fit(60)), {"rows.csv": _csv(*_shuffled(*_bundled("breast_cancer")))}, why=why),
    ]


def high_bias() -> list[Scenario]:
    why = "a hidden layer of one unit carries one number from x to the output"
    bottleneck = dense(1)
    return [
        Scenario("bias-binary", "binary", "high_bias", _config(
            "bias-binary", "{source: circles, n_samples: 400, noise: 0.05}", [bottleneck, dense(1, "linear")],
            BINARY, _fit(100)), why=why + ": a ring is not one side of a line"),
        Scenario("bias-multiclass", "multi-class", "high_bias", _config(
            "bias-multiclass", "{source: digits}", [bottleneck, dense(10, "linear")], CLASSES, _fit(30)),
            why=why + ": ten digits along one number"),
        Scenario("bias-multilabel", "multi-label", "high_bias", _config(
            "bias-multilabel", "{source: rows.npz}", [bottleneck, dense(3, "linear")], BINARY, _fit(100)),
            {"rows.npz": _npz(*_multilabel(400))}, why=why + ": three yes/no answers from one number"),
        Scenario("bias-regression", "regression", "high_bias", _config(
            "bias-regression", "{source: rows.npz, standardize_target: true}", [bottleneck, dense(1, "linear")],
            SQUARED, _fit(100)), {"rows.npz": _npz(*_ring(400))}, why=why + ": a bump is not a ramp"),
        Scenario("bias-images", "images", "high_bias", _config(
            "bias-images", IMAGE_DATA, ["{type: conv2d, filters: 1, kernel_size: 3, activation: relu}",
                                        "{type: global_average_pooling2d}", dense(3, "linear")], CLASSES, _fit(60)),
            {"shapes": _images(100)}, why="one filter, averaged over the image, carries one number to the output: "
                                          "three shapes from one number"),
        Scenario("bias-streamed", "streamed", "high_bias", _config(
            "bias-streamed", "{source: rows.csv, target: y, stream: true}", [bottleneck, dense(1, "linear")],
            BINARY, _fit(100)), {"rows.csv": _csv(*_circles(400))}, why=why + ": a ring is not one side of a line"),
    ]


def high_variance() -> list[Scenario]:
    why = "a wide network on 60 noisy points memorises them"
    wide = [dense(128), dense(128)]
    sixty = "test_split: 0.5, validation_split: 0.3"  # 300 rows: 60 to train on, 150 to test, 90 to validate
    return [
        Scenario("variance-binary", "binary", "high_variance", _config(
            "variance-binary", f"{{source: rows.npz, {sixty}}}", wide + [dense(1, "linear")], BINARY,
            _fit(1500, 64)), {"rows.npz": _npz(*_noisy_classes(300))}, why=why),
        Scenario("variance-multiclass", "multi-class", "high_variance", _config(
            "variance-multiclass", f"{{source: rows.npz, {sixty}}}", wide + [dense(3, "linear")],
            CLASSES, _fit(1500, 64)), {"rows.npz": _npz(*_noisy_classes(300, 3))}, why=why),
        Scenario("variance-multilabel", "multi-label", "high_variance", _config(
            "variance-multilabel", f"{{source: rows.npz, {sixty}}}", wide + [dense(3, "linear")],
            BINARY, _fit(1500, 64)), {"rows.npz": _npz(*_noisy_labels(300))}, why=why),
        Scenario("variance-regression", "regression", "high_variance", _config(
            "variance-regression", f"{{source: linear, n_samples: 300, n_features: 4, noise: 30, {sixty}, "
            "standardize_target: true}", wide + [dense(1, "linear")], SQUARED, _fit(1500, 64)), why=why),
        Scenario("variance-images", "images", "high_variance", _config(
            "variance-images", f"{{source: shapes, image_size: [28, 28], color: grayscale, normalize: minmax, "
            f"{sixty}}}", ["{type: flatten}"] + wide + [dense(3, "linear")], CLASSES, _fit(300, 64)),
            {"shapes": _images(100)}, why="a wide network on 60 images memorises them"),
        Scenario("variance-streamed", "streamed", "high_variance", _config(
            "variance-streamed", f"{{source: rows.csv, target: y, stream: true, {sixty}}}",
            wide + [dense(1, "linear")], BINARY, _fit(300, 64)), {"rows.csv": _csv(*_noisy_classes(300))}, why=why),
    ]


def diverged() -> list[Scenario]:
    why = "plain gradient descent at a learning rate of 50"
    sgd = {"optimizer": "sgd", "rate": 50}
    hidden = dense(16)
    return [
        Scenario("diverged-binary", "binary", "diverged", _config(
            "diverged-binary", "{source: moons}", [hidden, dense(1, "linear")], BINARY, _fit(20), **sgd), why=why),
        Scenario("diverged-multiclass", "multi-class", "diverged", _config(
            "diverged-multiclass", "{source: iris}", [hidden, dense(3, "linear")], CLASSES, _fit(20), **sgd),
            why=why),
        Scenario("diverged-multilabel", "multi-label", "diverged", _config(
            "diverged-multilabel", "{source: rows.npz}", [hidden, dense(3, "linear")], BINARY, _fit(20), **sgd),
            {"rows.npz": _npz(*_multilabel(400))}, why=why),
        Scenario("diverged-regression", "regression", "diverged", _config(
            "diverged-regression", "{source: diabetes}", [hidden, dense(1, "linear")], SQUARED, _fit(20),
            **sgd), why=why),
        Scenario("diverged-images", "images", "diverged", _config(
            "diverged-images", IMAGE_DATA, ["{type: flatten}", hidden, dense(3, "linear")], CLASSES, _fit(20),
            **sgd), {"shapes": _images(20)}, why=why),
        Scenario("diverged-streamed", "streamed", "diverged", _config(
            "diverged-streamed", "{source: rows.csv, target: y, stream: true}", [hidden, dense(1, "linear")],
            BINARY, _fit(20), **sgd), {"rows.csv": _csv(*_bundled("breast_cancer"))}, why=why),
    ]


def still_improving() -> list[Scenario]:
    why = "3 epochs at a small learning rate: the loss has barely begun to fall"
    slow = {"rate": 0.0003}
    return [
        Scenario("improving-binary", "binary", "still_improving", _config(
            "improving-binary", "{source: breast_cancer}", [dense(1, "linear")], BINARY, _fit(3, 8), **slow),
            why=why),
        Scenario("improving-multiclass", "multi-class", "still_improving", _config(
            "improving-multiclass", "{source: digits}", [dense(25), dense(10, "linear")], CLASSES, _fit(3, 16),
            **slow), why=why),
        Scenario("improving-multilabel", "multi-label", "still_improving", _config(
            "improving-multilabel", "{source: rows.npz}", [dense(16), dense(3, "linear")], BINARY, _fit(3, 8),
            **slow), {"rows.npz": _npz(*_multilabel(400))}, why=why),
        Scenario("improving-regression", "regression", "still_improving", _config(
            "improving-regression", "{source: diabetes, standardize_target: true}", [dense(16), dense(1, "linear")],
            SQUARED, _fit(3, 8), **slow), why=why),
        Scenario("improving-images", "images", "still_improving", _config(
            "improving-images", IMAGE_DATA, ["{type: flatten}", dense(16), dense(3, "linear")], CLASSES,
            _fit(3, 8), **slow), {"shapes": _images(40)}, why=why),
        Scenario("improving-streamed", "streamed", "still_improving", _config(
            "improving-streamed", "{source: rows.csv, target: y, stream: true}", [dense(1, "linear")], BINARY,
            _fit(3, 8), **slow), {"rows.csv": _csv(*_bundled("breast_cancer"))}, why=why),
    ]


SHIPPED_TASKS = {"logistic_regression": "binary", "moons_mlp": "binary", "exam_scores": "binary",
                 "coffee_roasting": "binary", "iris_softmax": "multi-class", "softmax_digits": "multi-class",
                 "cnn_digits": "multi-class", "signals_conv1d": "multi-class", "mlp_regression": "regression",
                 "shapes_cnn": "images"}


# the two digits configs fit their 1,257 training digits almost perfectly and miss 9 (softmax) and 6 (cnn) of
# 180 validation digits: beyond the noise, so by the course's rule they overfit a little (softmax_digits'
# validation loss ends 9 times its training loss); both verdicts are true of them
OVERFITS_A_LITTLE = ("softmax_digits", "cnn_digits")


def healthy() -> list[Scenario]:
    why = "a shipped config, tuned to learn its task"
    shipped = [Scenario(name, task, "healthy", "", shipped=True, why=why,
                        also=("high_variance",) if name in OVERFITS_A_LITTLE else ())
               for name, task in SHIPPED_TASKS.items()]
    return shipped + [
        Scenario("healthy-multilabel", "multi-label", "healthy", _config(
            "healthy-multilabel", "{source: rows.npz}", [dense(16), dense(3, "linear")], BINARY, _fit(40, 16)),
            {"rows.npz": _npz(*_multilabel(400))}, why="a small network on 400 examples of three labels"),
        Scenario("healthy-streamed", "streamed", "healthy", _config(
            "healthy-streamed", "{source: rows.csv, target: y, stream: true}", [dense(1, "linear")], BINARY,
            _fit(40, 16), rate=0.05), {"rows.csv": _csv(*_bundled("breast_cancer"))},
            why="logistic regression on breast_cancer, streamed"),
    ]


SCENARIOS = learned_nothing() + high_bias() + high_variance() + diverged() + still_improving() + healthy()
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def train_and_diagnose(scenario: Scenario, folder: Path) -> str:
    """Train the scenario in folder (its runs under folder/runs) and return its verdict's kind."""
    from nnlearn.errors import RunFailed
    from nnlearn.insight.diagnose import diagnose_run
    from nnlearn.training import train

    config = scenario.write(folder)
    out = folder / "runs" / scenario.name
    try:
        run = train(config, out=out)
    except RunFailed as failure:
        return diagnose_run(failure.run_dir)[0].kind
    return diagnose_run(run.run_dir, run.prepared)[0].kind
