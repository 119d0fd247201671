"""Streamed data in TensorFlow: the compiled training step fed batch by batch from disk, and the loss and
metrics of the splits measured in one pass over the file (see nnlearn.data.streaming for the reading)."""

from __future__ import annotations

import weakref

import numpy as np

from nnlearn.data.streaming import EVAL_CHUNK_BATCHES, epoch_batches


def _build(model, prepared) -> None:
    from nnlearn.training.steps import build_for_steps

    x = np.zeros((1,) + tuple(prepared.input_shape), dtype=np.float32)
    build_for_steps(model, x, prepared.targets(prepared.dataset.y[:1]))


def _signature(prepared):
    from nnlearn.model.build import tf

    example_y = prepared.targets(prepared.dataset.y[:1])
    return [tf.TensorSpec((None,) + tuple(prepared.input_shape), tf.float32),
            tf.TensorSpec((None,) + example_y.shape[1:], tf.as_dtype(example_y.dtype))]


class StreamedSteps:
    """TrainingSteps for streamed data: the model's own train_step, compiled once, on each batch of
    epoch_batches, handed over as arrays (a tf.data generator in between made an epoch about twice as slow).
    run() returns after about EXECUTION_SECONDS so Ctrl-C is answered quickly, and stops after the first
    batch whose loss is not finite."""

    EXECUTION_SECONDS = 0.1

    def __init__(self, model, prepared):
        from nnlearn.model.build import tf

        self.model, self.prepared = model, prepared
        self.per_epoch = -(-len(prepared.splits.train) // prepared.config.fit.batch_size)
        self.stopper = None
        self.validation = True if prepared.splits.validation is not None else None  # measured at each epoch's end
        self._epoch, self._batches = None, None
        _build(model, prepared)
        self._step = tf.function(lambda x, y: model.train_step((x, y)), input_signature=_signature(prepared),
                                 autograph=False).get_concrete_function()

    def evaluation_model(self):
        return self.model

    def run(self, epoch: int, first: int, last: int):
        """Train from batch `first` of `epoch` on, within that epoch (last, the latest epoch a call may end
        in, is always reached: streamed epochs are long). An execution that ends the epoch measures the
        validation rows in one more pass and returns the epoch's logs, as TrainingSteps does."""
        import time

        from nnlearn.tensorflow_import import tf
        from nnlearn.training.steps import Execution

        if self._epoch != epoch or first == 0:
            self._epoch, self._batches = epoch, epoch_batches(self.prepared, epoch)
            for _ in range(first):  # an epoch is always begun at its first batch; this keeps run()'s contract
                next(self._batches)
        if first == 0:
            self.model.reset_metrics()
        clock, done, finite = time.perf_counter(), 0, True
        while first + done < self.per_epoch:
            x, y = next(self._batches)
            finite = np.isfinite(float(self._step(tf.constant(x), tf.constant(y))["loss"]))
            done += 1
            if not finite or time.perf_counter() - clock >= self.EXECUTION_SECONDS:
                break
        logs = {name: float(value) for name, value in self.model.get_metrics_result().items()}
        if not finite or first + done < self.per_epoch:
            return Execution([], logs, done)
        if self.validation is not None:
            measured = measure_in_one_pass(self.model, self.prepared, ["validation"])["validation"]
            logs.update({f"val_{name}": value for name, value in measured.items()})
        return Execution([logs], logs, done)


_EVALUATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _evaluator(model, prepared):
    """A compiled function adding (x, y) to the model's metrics in batches of EVAL_BATCH_SIZE, as
    evaluate_arrays does, without resetting them first."""
    from nnlearn.tensorflow_import import tf
    from nnlearn.training.steps import evaluation_steps

    function = _EVALUATIONS.get(model)
    if function is None:
        _build(model, prepared)
        function = tf.function(lambda x, y: evaluation_steps(model, x, y), input_signature=_signature(prepared),
                               autograph=False).get_concrete_function()
        _EVALUATIONS[model] = function
    return function


def measure_in_one_pass(model, prepared, split_names, rows: int | None = None) -> dict[str, dict[str, float]]:
    """Loss and metrics of each named split, all in one pass over the feed (for streamed data, the file);
    each split's numbers are those of evaluate_arrays on its rows (the same batches of EVAL_BATCH_SIZE, in
    order). Each split keeps its own metric state, put into the model's metric variables while its rows are
    measured. rows: measure only each split's first `rows` rows."""
    from nnlearn.tensorflow_import import tf
    from nnlearn.training.steps import EVAL_BATCH_SIZE

    evaluate = _evaluator(model, prepared)
    model.reset_metrics()
    variables = model.metrics_variables
    fresh = [v.numpy() for v in variables]
    states = {name: fresh for name in split_names}  # each split's metric state, swapped in
    current = None
    for name, x, y in prepared.feed.chunks(list(states), EVAL_CHUNK_BATCHES * EVAL_BATCH_SIZE, rows):
        if name != current:
            if current is not None:
                states[current] = [v.numpy() for v in variables]
            for variable, value in zip(variables, states[name]):
                variable.assign(value)
            current = name
        evaluate(tf.constant(x), tf.constant(y))
    if current is not None:
        states[current] = [v.numpy() for v in variables]
    results = {}
    for name in split_names:
        for variable, value in zip(variables, states[name]):
            variable.assign(value)
        results[name] = {key: float(value) for key, value in model.get_metrics_result().items()}
    return results
