"""Time nnlearn's training against the plain Keras script a learner would write, in the same process.

    python benchmarks/fit_speed.py [CONFIG ...]

For each config: the same model, data, epochs and batch size, trained (1) the plain way,
`model.fit(x_numpy, y_numpy)`, and (2) nnlearn's way, a cached and prefetched tf.data pipeline.
Prints seconds for each (median of --repeats) and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from nnlearn.config_file import load_config
from nnlearn.prepare import prepare

ROOT = Path(__file__).resolve().parent.parent


def time_fit(prepared, way: str) -> float:
    from nnlearn import model as tf_model

    config = prepared.config
    model = tf_model.build_model(config, prepared.input_shape)
    tf_model.compile_model(model, config)
    x, y = prepared.x("train"), prepared.y("train")
    start = time.perf_counter()
    if way == "plain":
        model.fit(x, y, epochs=config.fit.epochs, batch_size=config.fit.batch_size, verbose=0)
    else:
        model.fit(tf_model.training_batches(x, y, config), epochs=config.fit.epochs, shuffle=False,
                  verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=[str(ROOT / "configs" / name) for name in
                        ("logistic_regression.yaml", "softmax_digits.yaml", "cnn_digits.yaml")])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    print(f"{'config':28} {'plain fit(numpy) s':>20} {'nnlearn tf.data s':>18} {'speed-up':>9}")
    for path in arguments.configs:
        prepared = prepare(load_config(path), Path(path).parent)
        time_fit(prepared, "nnlearn")  # warm up TensorFlow once
        plain = statistics.median(time_fit(prepared, "plain") for _ in range(arguments.repeats))
        ours = statistics.median(time_fit(prepared, "nnlearn") for _ in range(arguments.repeats))
        print(f"{Path(path).name:28} {plain:20.2f} {ours:18.2f} {plain / ours:8.2f}×")


if __name__ == "__main__":
    main()
