"""Evaluate a saved run again: same test split, same saved preprocessing, same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlearn.baselines import baseline_metrics
from nnlearn.prepare import Prepared, prepare_saved_run
from nnlearn.expectations import ExpectationResult, check_expectations, expectations_for
from nnlearn.rundir import RunDir


@dataclass
class Evaluation:
    """Test metrics of a saved run, with the confusion matrix for classifiers."""

    run_dir: Path
    test: dict[str, float]
    baseline: dict[str, float]
    class_names: list[str] | None = None
    confusion_matrix: list[list[int]] | None = None
    warnings: list[str] = field(default_factory=list)
    expectations: list[ExpectationResult] = field(default_factory=list)
    mistakes: list | None = None  # inside.Mistake, worst first, with --mistakes N (only wrong answers)
    feature_names: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.expectations)

    def to_json(self) -> dict:
        result = {"run_dir": str(self.run_dir), "metrics": {"test": self.test},
                  "baseline": {"test": self.baseline},
                  "expectations": [result.to_json() for result in self.expectations], "passed": self.passed}
        if self.confusion_matrix is not None:
            result["confusion_matrix"] = {"labels": self.class_names, "matrix": self.confusion_matrix}
        if self.mistakes is not None:
            result["mistakes"] = [mistake.to_json() for mistake in self.mistakes]
        return result


def evaluate(run_dir: str | Path, expect: list[str] | tuple = (), mistakes: int = 0) -> Evaluation:
    """Load model.keras safely and measure the test split as training did.

    mistakes: also find up to that many test examples it gets wrong, highest loss first (regression:
    largest |error|).

    expect: expectations such as "accuracy>=0.95", checked with the config's own `expect:` list;
    train and validation ones use the metrics saved by training.
    """
    run = RunDir.open(run_dir)
    prepared, warnings = prepare_saved_run(run)
    expectations = expectations_for(prepared.config, expect)
    model = run.load_model()  # a RunError before TensorFlow is imported when the run did not finish
    from nnlearn.model import compile_model

    compile_model(model, prepared.config)
    test = measure(model, prepared, "test")
    matrix = None
    if prepared.dataset.kind == "classes":
        matrix = confusion_matrix(model, prepared)
    saved = run.metrics()
    results = check_expectations(expectations, {"train": saved.get("train"), "validation": saved.get("validation"),
                                  "test": test})
    worst = None
    if mistakes > 0:
        from nnlearn.inside import mistakes as find_mistakes

        worst = find_mistakes(model, prepared, mistakes)
    return Evaluation(run.path, test, baseline_metrics(prepared), prepared.dataset.class_names, matrix,
                      warnings, results, worst, prepared.dataset.feature_names)


def confusion_matrix(model, prepared: Prepared) -> list[list[int]]:
    """Counts of (true class, predicted class) on the test split."""
    from nnlearn.model import evaluation_batches
    from nnlearn.task import classes

    if prepared.stream is not None:
        from nnlearn.streaming import predict

        outputs = predict(model, prepared, "test")
    else:
        outputs = model.predict(evaluation_batches(prepared.x("test"), prepared.y("test")), verbose=0)
    task = prepared.task
    predicted = classes(outputs, task, prepared.config.compile.from_logits)
    size = prepared.dataset.n_classes
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (prepared.splits.test.y, predicted), 1)
    return matrix.tolist()


def measure(model, prepared: Prepared, split_name: str) -> dict[str, float] | None:
    """Loss and metrics of one split, in inference mode (dropout off); None for an absent split."""
    from nnlearn.model import evaluate_arrays

    if getattr(prepared.splits, split_name) is None:
        return None
    if prepared.stream is not None:  # read from disk a block at a time
        from nnlearn.streaming import measure as measure_streamed

        return measure_streamed(model, prepared, split_name)
    results = evaluate_arrays(model, prepared.x(split_name), prepared.y(split_name))
    if prepared.dataset.kind == "multilabel" and "accuracy" in results:
        results.update(per_label_accuracy(model, prepared, split_name))
    return results


def measure_splits(model, prepared: Prepared, split_names) -> dict[str, dict[str, float] | None]:
    """measure() of each named split; streamed data is read once for all of them."""
    if prepared.stream is not None:
        from nnlearn.streaming import measure_splits as measure_streamed

        present = [name for name in split_names if getattr(prepared.splits, name) is not None]
        measured = measure_streamed(model, prepared, present)
        return {name: measured.get(name) for name in split_names}
    return {name: measure(model, prepared, name) for name in split_names}


def per_label_accuracy(model, prepared: Prepared, split_name: str) -> dict[str, float]:
    """Multi-label: the accuracy of each label's own yes/no decision."""
    from nnlearn.model import evaluation_batches
    from nnlearn.task import classes

    x, y = prepared.x(split_name), prepared.y(split_name)
    decided = classes(model.predict(evaluation_batches(x, y), verbose=0), "multilabel",
                      prepared.config.compile.from_logits)
    correct = decided == (y > 0.5)
    return {f"accuracy_{name}": float(value)
            for name, value in zip(prepared.dataset.class_names, correct.mean(axis=0))}
