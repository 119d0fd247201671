"""A model's loss, metrics and outputs on a split, in inference mode (dropout off): the numbers training saves
and eval repeats, for data held in memory or streamed from disk alike (Prepared.feed)."""

from __future__ import annotations

import numpy as np

from nnlearn.data.streaming import EVAL_CHUNK_BATCHES
from nnlearn.model.prepare import Prepared
from nnlearn.model.task import classes, output_reading
from nnlearn.training.streamed import measure_in_one_pass

INITIAL_LOSS_ROWS = 65_536  # the loss before training, a sanity check, is measured on this many training rows


def measure(model, prepared: Prepared, split_name: str) -> dict[str, float] | None:
    """Loss and metrics of one split; None for an absent split."""
    return measure_splits(model, prepared, [split_name])[split_name]


def measure_splits(model, prepared: Prepared, split_names, rows: int | None = None
                   ) -> dict[str, dict[str, float] | None]:
    """Loss and metrics of each named split (None for an absent one), in the target's own units (see
    data.standardize_target); rows: only each split's first rows.
    Streamed data is read once for all the splits; data in memory goes to TensorFlow whole, one split per
    call, through the function the training steps compiled for it (one graph fewer to trace)."""
    from nnlearn.training.steps import evaluate_arrays

    present = [name for name in split_names if getattr(prepared.splits, name) is not None]
    if prepared.feed.streamed:
        measured = measure_in_one_pass(model, prepared, present, rows)
    else:
        measured = {name: evaluate_arrays(model, prepared.x(name)[:rows], prepared.y(name)[:rows])
                    for name in present}
    if prepared.dataset.kind == "multilabel":
        for name, results in measured.items():
            if "accuracy" in results:
                results.update(per_label_accuracy(model, prepared, name))
    measured = {name: prepared.in_target_units(results) for name, results in measured.items()}
    return {name: measured.get(name) for name in split_names}


def loss_before_training(model, prepared: Prepared) -> tuple[float, str]:
    """The loss on the first INITIAL_LOSS_ROWS training rows (a sanity check needs no whole pass over big
    data), and the words saying so ('' when that is every training row)."""
    loss = measure_splits(model, prepared, ["train"], INITIAL_LOSS_ROWS)["train"]["loss"]
    if len(prepared.splits.train) <= INITIAL_LOSS_ROWS:
        return loss, ""
    return loss, f"; measured on the first {INITIAL_LOSS_ROWS:,} training rows"


def predict_split(model, prepared: Prepared, split_name: str) -> np.ndarray:
    """The model's outputs for one split's rows, in the order of the split's y, in batches of EVAL_BATCH_SIZE."""
    from nnlearn.training.steps import EVAL_BATCH_SIZE

    outputs = [np.asarray(model(x[first:first + EVAL_BATCH_SIZE], training=False))
               for _, x, _ in prepared.feed.chunks([split_name], EVAL_CHUNK_BATCHES * EVAL_BATCH_SIZE)
               for first in range(0, len(x), EVAL_BATCH_SIZE)]
    return np.concatenate(outputs) if outputs else np.empty((0,))


def per_label_accuracy(model, prepared: Prepared, split_name: str) -> dict[str, float]:
    """Multi-label: the accuracy of each label's own yes/no decision."""
    decided = classes(predict_split(model, prepared, split_name), "multilabel", output_reading(prepared.config))
    correct = decided == (prepared.y(split_name) > 0.5)
    return {f"accuracy_{name}": float(value)
            for name, value in zip(prepared.dataset.class_names, correct.mean(axis=0))}
