"""A model's loss and metrics on a split, in inference mode: the numbers training saves and eval repeats."""

from __future__ import annotations

from nnlearn.model.prepare import Prepared


def measure(model, prepared: Prepared, split_name: str) -> dict[str, float] | None:
    """Loss and metrics of one split, in inference mode (dropout off); None for an absent split."""
    from nnlearn.model.build import evaluate_arrays

    if getattr(prepared.splits, split_name) is None:
        return None
    if prepared.stream is not None:  # read from disk a block at a time
        from nnlearn.training.streamed import measure as measure_streamed

        return measure_streamed(model, prepared, split_name)
    results = evaluate_arrays(model, prepared.x(split_name), prepared.y(split_name))
    if prepared.dataset.kind == "multilabel" and "accuracy" in results:
        results.update(per_label_accuracy(model, prepared, split_name))
    return results


def measure_splits(model, prepared: Prepared, split_names) -> dict[str, dict[str, float] | None]:
    """measure() of each named split; streamed data is read once for all of them."""
    if prepared.stream is not None:
        from nnlearn.training.streamed import measure_splits as measure_streamed

        present = [name for name in split_names if getattr(prepared.splits, name) is not None]
        measured = measure_streamed(model, prepared, present)
        return {name: measured.get(name) for name in split_names}
    return {name: measure(model, prepared, name) for name in split_names}


def per_label_accuracy(model, prepared: Prepared, split_name: str) -> dict[str, float]:
    """Multi-label: the accuracy of each label's own yes/no decision."""
    from nnlearn.model.build import evaluation_batches
    from nnlearn.model.task import classes, output_reading

    x, y = prepared.x(split_name), prepared.y(split_name)
    decided = classes(model.predict(evaluation_batches(x, y), verbose=0), "multilabel",
                      output_reading(prepared.config))
    correct = decided == (y > 0.5)
    return {f"accuracy_{name}": float(value)
            for name, value in zip(prepared.dataset.class_names, correct.mean(axis=0))}
