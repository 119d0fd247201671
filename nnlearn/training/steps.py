"""Step 3 in TensorFlow: many training steps per call into TensorFlow (the model's own train_step in one
compiled loop), and the loss and metrics measured in the same compiled way as model.evaluate.

Import this module only where a model is trained or measured: it imports TensorFlow (~5 s).
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass

import numpy as np

from nnlearn.config.schema import Config
from nnlearn.model.build import build_model, compile_model
from nnlearn.tensorflow_import import tf

EVAL_BATCH_SIZE = 1024


def epoch_order(rows: int, config: Config, epoch) -> tf.Tensor:
    """The order of the training rows in epoch `epoch`: a function of (seed, epoch) only, so a resumed
    run sees exactly the batches an uninterrupted run would."""
    order = tf.range(rows)
    if config.fit.shuffle:
        seed = tf.stack([tf.constant(config.seed, tf.int64), tf.cast(epoch, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(order, seed=seed)
    return order


def training_batches(x: np.ndarray, y: np.ndarray, config: Config,
                     initial_epoch: int = 0) -> tuple["tf.data.Dataset", int]:
    """Batches for epochs initial_epoch..epochs-1 (in epoch_order), and the number of steps per epoch."""
    rows, batch_size = len(x), config.fit.batch_size
    x_all, y_all = tf.constant(x), tf.constant(y)

    def batches(epoch):
        return tf.data.Dataset.from_tensor_slices(epoch_order(rows, config, epoch)).batch(batch_size)

    data = tf.data.Dataset.range(initial_epoch, config.fit.epochs).flat_map(batches)
    data = data.map(lambda index: (tf.gather(x_all, index), tf.gather(y_all, index)))
    return data.prefetch(tf.data.AUTOTUNE), -(-rows // batch_size)


@dataclass
class Execution:
    """What one call into TensorFlow did: the logs of each epoch that ended in it (validation rows
    measured at each end, as `val_*`), the running logs of the epoch it stopped in, and its steps."""

    ended: list[dict[str, float]]
    logs: dict[str, float]
    steps: int


class TrainingSteps:
    """Many training steps per call into TensorFlow: the model's own train_step (what fit runs) in one
    compiled loop over the batches (in epoch_order), stopping after the first batch whose loss is not
    finite. Python sees only the end of each execution, which is sized to take about EXECUTION_SECONDS,
    so Ctrl-C is still answered within a fraction of a second.

    When an epoch ends inside an execution, the same call measures the validation rows (inference
    mode, as model.evaluate does) and resets the metrics; when epochs are short, one execution runs
    several whole epochs and returns each one's logs. An execution that starts an epoch either stays
    inside it or runs whole epochs, so the weights after it are those of an epoch's end or of a step
    inside the last epoch. When the loss stops being finite after an epoch ended in the same
    execution, the weights are put back to that epoch's end (by running its epochs again from the
    state before the execution: the same steps give the same numbers), so they can be checkpointed.

    The numbers do not depend on how the epochs are cut into executions: each step is the same graph
    on the same batch. Under a distribution strategy an execution stays inside one epoch, and the
    validation rows are measured after it on a plain copy of the weights.
    """

    EXECUTION_SECONDS = 0.1

    def __init__(self, model, x: np.ndarray, y: np.ndarray, config: Config, strategy=None,
                 validation: tuple[np.ndarray, np.ndarray] | None = None):
        self.model, self.config, self.strategy = model, config, strategy
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.validation = validation  # (x, y) of the validation rows, or None
        self.per_epoch = -(-len(x) // config.fit.batch_size)
        self.size = 1  # steps in the next execution; grows to fill EXECUTION_SECONDS
        self.stopper = None  # multi-worker: the Stopper whose Ctrl-C every worker must agree on
        self._twin = self._agreement = None
        self._names: dict[str, list[str]] = {}  # the metric names of each stacked result, set when traced
        specs = [tf.TensorSpec((), tf.int64), tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int32)]
        if strategy is None:
            build_for_steps(model, x, y)
            rows = validation if validation is not None else (x[:0], y[:0])
            self._rows = tuple(map(tf.constant, rows))  # measured at each epoch's end
            specs = [tf.TensorSpec((None,) + part.shape[1:], part.dtype) for part in self._rows] + specs
            compiled = self._compiled_epochs
        else:
            with strategy.scope():
                build_for_steps(model, x, y)
            # evaluation, checkpoints and the saved model use a plain copy of the weights
            self._twin = build_model(config, x.shape[1:])
            compile_model(self._twin, config)
            self._loss_tracker = next(metric for metric in model.metrics if metric.name == "loss")
            compiled = self._compiled_distributed_steps
        # traced once; calling the concrete function skips tf.function's per-call dispatch
        self._steps = tf.function(compiled, autograph=strategy is not None).get_concrete_function(
            self.x, self.y, *specs)
        if strategy is None:  # its first call optimizes the graph: do it now, so the first execution's
            self._call(0, 0, 0)  # time (which sizes the next) is the steps' own; 0 steps change nothing
            _EVALUATIONS[model] = _measuring(self._steps, self.x, self.y, self.per_epoch, self._names)

    def _compiled_epochs(self, x, y, rows_x, rows_y, epoch, first, steps):
        # At each epoch's end the rows (rows_x, rows_y) are measured, as evaluate_arrays does; called
        # with first = per_epoch and no steps, it only measures them (see _measuring). The loops are
        # TensorFlow's own (traced without AutoGraph: converting this code would take longer than
        # tracing it).
        batch_size, per_epoch = self.config.fit.batch_size, self.per_epoch
        width = [len(self.model.get_metrics_result())]

        def end_epoch(state):  # record the epoch's training metrics, measure the rows, start the next
            ended = state["ended"]
            train = state["train"].write(ended, self._results("train"))
            rows = state["rows"].write(ended, self._measure(rows_x, rows_y))
            # for the next epoch; after the reads above, as TensorFlow runs a variable's ops in program order
            self.model.reset_metrics()
            return {**state, "train": train, "rows": rows, "ended": ended + 1, "epoch": state["epoch"] + 1,
                    "batch": tf.constant(0)}

        def run_steps(state):  # up to the epoch's end or the call's last step, while the loss is finite
            order = epoch_order(tf.shape(x)[0], self.config, state["epoch"])
            start = state["batch"]
            last = tf.minimum(per_epoch, start + steps - state["done"])

            def step(batch, finite):  # no branch in here: a step is all that runs
                index = order[batch * batch_size:(batch + 1) * batch_size]
                loss = self.model.train_step((tf.gather(x, index), tf.gather(y, index)))["loss"]
                return batch + 1, tf.math.is_finite(loss)

            batch, finite = tf.while_loop(lambda batch, finite: tf.logical_and(batch < last, finite), step,
                                          [start, state["finite"]])
            return {**state, "batch": batch, "finite": finite, "done": state["done"] + batch - start}

        def more(state):
            return tf.logical_and(state["finite"],
                                  tf.logical_or(state["done"] < steps, tf.equal(state["batch"], per_epoch)))

        def epochs(state):
            state = tf.cond(tf.equal(state["batch"], per_epoch), lambda: end_epoch(state), lambda: state)
            return [run_steps(state)]

        [state] = tf.while_loop(more, epochs, [{
            "train": tf.TensorArray(tf.float64, size=0, dynamic_size=True, element_shape=width),
            "rows": tf.TensorArray(tf.float64, size=0, dynamic_size=True, element_shape=width),
            "ended": tf.constant(0), "done": tf.constant(0), "finite": tf.constant(True), "batch": first,
            "epoch": epoch}])
        return state["train"].stack(), state["rows"].stack(), self._results("running"), state["done"]

    def _results(self, name: str):
        """The metrics' current results as one float64 vector (float32 values convert exactly)."""
        results = self.model.get_metrics_result()
        self._names[name] = list(results)
        return tf.stack([tf.cast(value, tf.float64) for value in results.values()])

    def _measure(self, x, y):
        """What evaluate_arrays measures, inside the training execution."""
        self.model.reset_metrics()
        evaluation_steps(self.model, x, y)
        return self._results("measured")

    def _compiled_distributed_steps(self, x, y, epoch, first, steps):
        # under a strategy: steps inside one epoch only; the validation rows are measured after the call
        batch_size = self.config.fit.batch_size
        order = epoch_order(tf.shape(x)[0], self.config, epoch)
        done = tf.constant(0)
        for step in tf.range(first, first + steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            loss = self._distributed_step(x, y, index)
            done += 1
            if not tf.math.is_finite(loss):
                break
        return self.model.get_metrics_result(), done

    def _distributed_step(self, x, y, index):
        """One step of the global batch `index` under the strategy: replica r takes rows r·m..(r+1)·m.

        A last batch that does not divide evenly is padded with rows of weight 0, and the real rows
        weigh R·m/n in the loss, so the summed gradient is still the mean over the n real rows (what one
        device computes). The metrics see the real rows only; the loss tracker gets n/R rows from each
        replica, so the epoch's mean loss weighs every row as one device does.
        """
        replicas = self.strategy.num_replicas_in_sync
        rows = tf.shape(index)[0]
        share = (rows + replicas - 1) // replicas
        padding = share * replicas - rows
        index = tf.concat([index, tf.zeros([padding], index.dtype)], 0)
        real = tf.concat([tf.ones([rows]), tf.zeros([padding])], 0)
        weight = tf.cast(share * replicas, tf.float32) / tf.cast(rows, tf.float32)
        rows_per_replica = tf.cast(rows, tf.float32) / replicas

        def shard(context):
            part = tf.range(context.replica_id_in_sync_group * share,
                            (context.replica_id_in_sync_group + 1) * share)
            return tf.gather(x, tf.gather(index, part)), tf.gather(y, tf.gather(index, part)), tf.gather(real, part)

        self.strategy.run(self._replica_step, args=(
            self.strategy.experimental_distribute_values_from_function(shard), weight, rows_per_replica))
        return self._loss_tracker.result()  # reduced over every replica: all workers see the same value

    def _replica_step(self, batch, weight, rows_per_replica):
        """What model.train_step does on one replica, with the loss and the metrics weighted apart."""
        from keras.src.losses.loss import unscale_loss_for_distribution

        x, y, real = batch
        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=real * weight, training=True)
            self._loss_tracker.update_state(unscale_loss_for_distribution(loss), sample_weight=rows_per_replica)
            loss = model.optimizer.scale_loss(loss)
        gradients = tape.gradient(loss, model.trainable_weights)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_weights))  # all-reduced by the strategy
        kept = tf.cast(tf.reduce_sum(real), tf.int32)  # padding comes last: the metrics see real rows only
        model.compute_metrics(x[:kept], y[:kept], y_pred[:kept])

    def evaluation_model(self):
        """The model to evaluate, checkpoint and save: itself, or under a strategy a plain copy of the
        current weights (Keras' evaluation and saving expect variables outside a strategy)."""
        if self._twin is None:
            return self.model
        self._twin.set_weights(self.model.get_weights())
        return self._twin

    def run(self, epoch: int, first: int, last: int) -> Execution:
        """Train from batch `first` of `epoch` (counted from 0) on, ending at the latest at the end of
        epoch number `last` (counted from 1)."""
        if first > 0 or self.size < self.per_epoch or self.strategy is not None:
            steps = min(self.size, self.per_epoch - first)
        else:  # whole epochs
            steps = self.per_epoch * max(1, min(self.size // self.per_epoch, last - epoch))
        clock = time.perf_counter()
        if self.strategy is None:
            execution = self._execute(epoch, first, steps)
        else:
            execution = self._execute_distributed(epoch, first, steps)
        per_step = (time.perf_counter() - clock) / max(execution.steps, 1)
        longest = self.per_epoch if self.strategy is not None else self.per_epoch * self.config.fit.epochs
        self.size = max(1, min(4 * self.size, longest, int(self.EXECUTION_SECONDS / per_step)))
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            self._agree()
        return execution

    def _execute(self, epoch: int, first: int, steps: int) -> Execution:
        state = self.model.variables + self.model.optimizer.variables
        before = [variable.numpy() for variable in state] if steps > self.per_epoch - first else None
        execution = self._call(epoch, first, steps)
        if execution.steps < steps and execution.ended:  # not finite after an epoch end: back to that end
            for variable, value in zip(state, before):
                variable.assign(value)
            self._call(epoch, first, len(execution.ended) * self.per_epoch)
        return execution

    def _call(self, epoch: int, first: int, steps: int) -> Execution:
        if first == 0:  # an epoch starts (inside the call, each epoch's end resets them for the next)
            self.model.reset_metrics()
        train, validation, running, done = self._steps(self.x, self.y, *self._rows, tf.constant(epoch, tf.int64),
                                                       tf.constant(first), tf.constant(steps))
        ended = [dict(zip(self._names["train"], row)) for row in train.numpy().tolist()]
        if self.validation is not None:
            names = [f"val_{name}" for name in self._names["measured"]]
            for logs, row in zip(ended, validation.numpy().tolist()):
                logs.update(zip(names, row))
        return Execution(ended, dict(zip(self._names["running"], running.numpy().tolist())), int(done))

    def _execute_distributed(self, epoch: int, first: int, steps: int) -> Execution:
        if first == 0:
            self.model.reset_metrics()
        logs, done = self._steps(self.x, self.y, tf.constant(epoch, tf.int64), tf.constant(first),
                                 tf.constant(steps))
        logs = {name: float(value) for name, value in logs.items()}
        ended = []
        if first + int(done) == self.per_epoch and math.isfinite(logs["loss"]):
            ended = [dict(logs)]
            if self.validation is not None:
                results = evaluate_arrays(self.evaluation_model(), *self.validation)
                ended[0].update({f"val_{name}": value for name, value in results.items()})
        return Execution(ended, logs, int(done))

    def _agree(self) -> None:
        """Workers must run the same steps: all take the chief's next execution size, and all stop when
        any of them was asked to (Ctrl-C on one machine)."""
        if self._agreement is None:
            def agreement(asked, size):  # compiled: an eager reduce would leave threads behind on failure
                def share():  # replica 0 (the chief's) adds its size; every replica adds whether it was asked
                    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
                    return tf.stack([asked, tf.cast(tf.equal(replica, 0), tf.int32) * size])

                return self.strategy.reduce("SUM", self.strategy.run(share), axis=None)

            self._agreement = tf.function(agreement)
        asked = int(bool(self.stopper and self.stopper.interrupt_requested))
        agreed = self._agreement(tf.constant(asked), tf.constant(self.size)).numpy()
        self.size = int(agreed[1])
        if agreed[0] and self.stopper is not None:
            self.stopper.interrupt_requested = True


def build_for_steps(model, x: np.ndarray, y: np.ndarray) -> None:
    """Create every variable (layers, loss and metric state, optimizer) before a step is compiled."""
    model._symbolic_build(data_batch=(x[:1], y[:1]))  # what fit and evaluate call first, too


def evaluation_steps(model, x, y) -> None:
    """Inside a compiled function (with or without AutoGraph): model.test_step (what evaluate runs) on
    each batch of EVAL_BATCH_SIZE rows, adding them to the model's metrics."""
    rows = tf.shape(x)[0]

    def step(start):
        model.test_step((x[start:start + EVAL_BATCH_SIZE], y[start:start + EVAL_BATCH_SIZE]))
        return start + EVAL_BATCH_SIZE

    tf.while_loop(lambda start: start < rows, step, [tf.constant(0)])


_EVALUATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _measuring(steps, x, y, per_epoch: int, names: dict):
    """evaluate_arrays' function for a model being trained: its compiled training steps, told to only
    measure the rows (one graph to trace and optimize instead of two). Holds no reference to the model."""

    def measure(rows_x, rows_y):
        _, measured, _, _ = steps(x, y, rows_x, rows_y, tf.constant(0, tf.int64), tf.constant(per_epoch),
                                  tf.constant(0))
        return dict(zip(names["measured"], tf.unstack(measured[0])))

    return measure


def evaluate_arrays(model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Loss and metrics over all rows, in inference mode (dropout off), in batches of EVAL_BATCH_SIZE:
    what model.evaluate returns, in one call into TensorFlow, compiled once per model."""
    function = _EVALUATIONS.get(model)
    if function is None:
        build_for_steps(model, x, y)
        signature = [tf.TensorSpec((None,) + x.shape[1:], tf.as_dtype(x.dtype)),
                     tf.TensorSpec((None,) + y.shape[1:], tf.as_dtype(y.dtype))]

        def evaluate(x, y):
            model.reset_metrics()
            evaluation_steps(model, x, y)
            return model.get_metrics_result()

        function = tf.function(evaluate, input_signature=signature, autograph=False).get_concrete_function()
        _EVALUATIONS[model] = function
    return {name: float(value) for name, value in function(tf.constant(x), tf.constant(y)).items()}


def evaluation_batches(x: np.ndarray, y: np.ndarray) -> "tf.data.Dataset":
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(EVAL_BATCH_SIZE).cache()
