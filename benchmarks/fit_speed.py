"""Time `nnlearn train` against the plain Keras script a learner would write, in the same process.

    python benchmarks/fit_speed.py [CONFIG ...] [--repeats N] [--set KEY=VALUE] [--no-determinism]

For each config, with the same model, data, epochs and batch size:
  plain    the learner's script: model.fit(x_numpy, y_numpy), then evaluate train/test, then save
  nnlearn  nnlearn's whole training step: many steps per call into TensorFlow, validation every
           epoch, checkpoints, op determinism, evaluation of train/validation/test, the run directory
  hand loop  a hand-written tf.function over each epoch's steps: the floor nnlearn's fit is held to
Both fits are timed after their graphs are traced and optimized (TensorFlow optimizes a graph on its
first call); the whole training step includes that.
Prints the median seconds of each and the ratios. Run once with --no-determinism to see what
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
    from nnlearn.model import build as tf_model

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


def nnlearn_train(prepared, folder: Path, determinism: bool) -> tuple[float, float]:
    """Seconds of the whole training step, and of its fit alone (Run.seconds: the epochs, with
    validation and checkpoints, after the step is compiled)."""
    from nnlearn.model import build as tf_model
    from nnlearn.training import train as training

    if not determinism:
        tf_model.enable_determinism = lambda seed: tf_model.keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    run = training.train_config(prepared.config, out=folder / f"run-{time.perf_counter_ns()}")
    return time.perf_counter() - start, run.seconds


def hand_written_loop(prepared) -> float:
    """The floor: a tf.function running each epoch's steps (same batches, same model and optimizer),
    without metrics, validation or checkpoints; compiled and called once before the clock starts."""
    from nnlearn.model import build as tf_model
    from nnlearn.training import steps as steps_module

    tf, config = tf_model.tf, prepared.config
    model = tf_model.build_model(config, prepared.input_shape)
    loss, optimizer = tf_model.make_loss(config), tf_model.make_optimizer(config)
    optimizer.build(model.trainable_variables)
    x, y = tf.constant(prepared.x("train")), tf.constant(prepared.y("train"))
    batch_size, steps = config.fit.batch_size, -(-len(x) // config.fit.batch_size)

    @tf.function
    def epoch(number):
        order = steps_module.epoch_order(len(x), config, number)
        for step in tf.range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            with tf.GradientTape() as tape:
                cost = loss(tf.gather(y, index), model(tf.gather(x, index), training=True))
            optimizer.apply_gradients(zip(tape.gradient(cost, model.trainable_variables),
                                          model.trainable_variables))
        return cost

    compiled = epoch.get_concrete_function(tf.TensorSpec((), tf.int64))
    compiled(tf.constant(0, tf.int64)).numpy()  # the first call optimizes the graph, as nnlearn's does before its clock
    start = time.perf_counter()
    for number in range(config.fit.epochs):
        compiled(tf.constant(number, tf.int64)).numpy()
    return time.perf_counter() - start


def main() -> None:
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=[str(ROOT / "configs" / name) for name in
                        ("logistic_regression.yaml", "softmax_digits.yaml", "cnn_digits.yaml")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-determinism", action="store_true")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override every config")
    arguments = parser.parse_args()
    determinism = not arguments.no_determinism
    print(f"op determinism: {'on' if determinism else 'off'}; median of {arguments.repeats}")
    print(f"{'config':28} {'plain Keras s':>14} {'nnlearn train s':>16} {'speed-up':>9} "
          f"{'nnlearn fit s':>14} {'hand loop s':>12} {'fit / loop':>11}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for path in arguments.configs:
            prepared = prepare(load_config(path, arguments.set or []), Path(path).parent)
            nnlearn_train(prepared, folder, determinism)  # warm up TensorFlow once
            plain, ours, loop = [], [], []
            for _ in range(arguments.repeats):  # alternating, so a busy moment hurts all three alike
                plain.append(plain_script(prepared, folder))
                ours.append(nnlearn_train(prepared, folder, determinism))
                loop.append(hand_written_loop(prepared))
            plain_s = statistics.median(plain)
            whole = statistics.median(seconds for seconds, _ in ours)
            fit = statistics.median(fit for _, fit in ours)
            hand = statistics.median(loop)
            print(f"{Path(path).name:28} {plain_s:14.2f} {whole:16.2f} {plain_s / whole:8.2f}× "
                  f"{fit:14.3f} {hand:12.3f} {fit / hand:10.2f}×")


if __name__ == "__main__":
    main()
