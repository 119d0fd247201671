"""Evaluate a saved run again: same test split, same saved preprocessing, same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlearn.baselines import baseline_metrics
from nnlearn.errors import RunError
from nnlearn.prepare import Prepared, prepare_saved_run
from nnlearn.gates import GateResult, check_gates, gates_for
from nnlearn.rundir import MODEL_FILE, read_metrics


@dataclass
class Evaluation:
    """Test metrics of a saved run, with the confusion matrix for classifiers."""

    run_dir: Path
    test: dict[str, float]
    baseline: dict[str, float]
    class_names: list[str] | None = None
    confusion_matrix: list[list[int]] | None = None
    warnings: list[str] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    mistakes: list = field(default_factory=list)  # inside.Mistake, worst first, with --mistakes N
    feature_names: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.gates)

    def to_json(self) -> dict:
        result = {"run_dir": str(self.run_dir), "metrics": {"test": self.test},
                  "baseline": {"test": self.baseline},
                  "expectations": [gate.to_json() for gate in self.gates], "passed": self.passed}
        if self.confusion_matrix is not None:
            result["confusion_matrix"] = {"labels": self.class_names, "matrix": self.confusion_matrix}
        if self.mistakes:
            result["mistakes"] = [mistake.to_json() for mistake in self.mistakes]
        return result


def evaluate(run_dir: str | Path, expect: list[str] | tuple = (), mistakes: int = 0) -> Evaluation:
    """Load model.keras safely and measure the test split as training did.

    mistakes: also find that many test examples with the highest loss (regression: largest |error|).

    expect: metric gates such as "accuracy>=0.95", checked with the config's own `expect:` gates;
    train and validation gates use the metrics saved by training.
    """
    run_dir = Path(run_dir)
    prepared, warnings = prepare_saved_run(run_dir)
    gates = gates_for(prepared.config, expect)
    if not (run_dir / MODEL_FILE).exists():
        raise RunError(f"{run_dir} has no {MODEL_FILE}: the run did not finish.",
                       hint="train it again, or resume it if it was interrupted.")
    from nnlearn.model import compile_model, load_saved_model

    model = load_saved_model(run_dir / MODEL_FILE)
    compile_model(model, prepared.config)
    test = measure(model, prepared, "test")
    matrix = None
    if prepared.dataset.kind == "classes":
        matrix = confusion_matrix(model, prepared)
    saved = read_metrics(run_dir)
    results = check_gates(gates, {"train": saved.get("train"), "validation": saved.get("validation"),
                                  "test": test})
    worst = []
    if mistakes > 0:
        from nnlearn.inside import mistakes as find_mistakes

        worst = find_mistakes(model, prepared, mistakes)
    return Evaluation(run_dir, test, baseline_metrics(prepared), prepared.dataset.class_names, matrix,
                      warnings, results, worst, prepared.dataset.feature_names)


def confusion_matrix(model, prepared: Prepared) -> list[list[int]]:
    """Counts of (true class, predicted class) on the test split."""
    from nnlearn.model import evaluation_batches
    from nnlearn.task import classes, task_of

    if prepared.stream is not None:
        from nnlearn.streaming import predict

        outputs = predict(model, prepared, "test")
    else:
        outputs = model.predict(evaluation_batches(prepared.x("test"), prepared.y("test")), verbose=0)
    task = task_of(prepared.config, prepared.dataset.kind)
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
