"""Time `nnlearn train` against the plain Keras script a learner would write, in the same process.

    python benchmarks/fit_speed.py [CONFIG ...] [--repeats N] [--no-determinism]

For each config, with the same model, data, epochs and batch size:
  plain    the learner's script: model.fit(x_numpy, y_numpy), then evaluate train/test, then save
  nnlearn  nnlearn's whole training step: a tf.data pipeline, a checkpoint after every epoch,
           op determinism, evaluation of train/validation/test, the run directory written
Prints the median seconds of each and the ratio. Run once with --no-determinism to see what
TensorFlow's op determinism costs (it cannot be switched off again inside one process).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plain_script(prepared, folder: Path) -> float:
    from nnlearn import model as tf_model

    config = prepared.config
    start = time.perf_counter()
    model = tf_model.build_model(config, prepared.input_shape)
    tf_model.compile_model(model, config)
    validation = (prepared.x("validation"), prepared.y("validation")) if prepared.splits.validation else None
    model.fit(prepared.x("train"), prepared.y("train"), validation_data=validation,
              epochs=config.fit.epochs, batch_size=config.fit.batch_size, verbose=0)
    model.evaluate(prepared.x("train"), prepared.y("train"), verbose=0)
    model.evaluate(prepared.x("test"), prepared.y("test"), verbose=0)
    model.save(folder / "plain.keras")
    return time.perf_counter() - start


def nnlearn_train(prepared, folder: Path, determinism: bool) -> float:
    from nnlearn import model as tf_model
    from nnlearn import training

    if not determinism:
        tf_model.enable_determinism = lambda seed: tf_model.keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    run_dir = folder / f"run-{time.perf_counter_ns()}"
    run_dir.mkdir()
    training._save_inputs(run_dir, prepared)
    training._fit(prepared, run_dir, [], training.Silent(), checkpoint=None)
    return time.perf_counter() - start


def main() -> None:
    from nnlearn.config_file import load_config
    from nnlearn.prepare import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=[str(ROOT / "configs" / name) for name in
                        ("logistic_regression.yaml", "softmax_digits.yaml", "cnn_digits.yaml")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-determinism", action="store_true")
    arguments = parser.parse_args()
    determinism = not arguments.no_determinism
    print(f"op determinism: {'on' if determinism else 'off'}; median of {arguments.repeats}")
    print(f"{'config':28} {'plain Keras s':>14} {'nnlearn train s':>16} {'speed-up':>9}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for path in arguments.configs:
            prepared = prepare(load_config(path), Path(path).parent)
            nnlearn_train(prepared, folder, determinism)  # warm up TensorFlow once
            plain = statistics.median(plain_script(prepared, folder) for _ in range(arguments.repeats))
            ours = statistics.median(nnlearn_train(prepared, folder, determinism)
                                     for _ in range(arguments.repeats))
            print(f"{Path(path).name:28} {plain:14.2f} {ours:16.2f} {plain / ours:8.2f}×")


if __name__ == "__main__":
    main()
