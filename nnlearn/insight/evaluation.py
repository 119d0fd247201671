"""Evaluate a saved run again: same test split, same saved preprocessing, same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlearn.config.expectations import ExpectationResult, check_expectations, expectations_for
from nnlearn.insight.inside import mistakes as find_mistakes
from nnlearn.model.baselines import baseline_metrics
from nnlearn.model.prepare import Prepared
from nnlearn.model.task import classes, output_reading
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.saved_run import prepare_saved_run
from nnlearn.training.measure import measure, predict_split


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
    prepared: Prepared | None = field(default=None, repr=False)  # its data, so the diagnosis needs no reload

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


def evaluate(run: RunDir, expect: list[str] | tuple = (), mistakes: int = 0) -> Evaluation:
    """Load model.keras safely and measure the test split as training did.

    mistakes: also find up to that many test examples it gets wrong, highest loss first (regression:
    largest |error|).

    expect: expectations such as "accuracy>=0.95", checked with the config's own `expect:` list;
    train and validation ones use the metrics saved by training.
    """
    prepared, warnings = prepare_saved_run(run)
    expectations = expectations_for(prepared.config, expect)
    model = run.load_model()  # a RunError before TensorFlow is imported when the run did not finish
    from nnlearn.model.build import compile_model

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
        worst = find_mistakes(model, prepared, mistakes)
    return Evaluation(run.path, test, baseline_metrics(prepared), prepared.dataset.class_names, matrix,
                      warnings, results, worst, prepared.dataset.feature_names, prepared)


def confusion_matrix(model, prepared: Prepared) -> list[list[int]]:
    """Counts of (true class, predicted class) on the test split."""
    outputs = predict_split(model, prepared, "test")
    task = prepared.task
    predicted = classes(outputs, task, output_reading(prepared.config))
    size = prepared.dataset.n_classes
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (prepared.splits.test.y, predicted), 1)
    return matrix.tolist()
