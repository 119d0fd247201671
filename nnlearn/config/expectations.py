"""Expectations: what a run must measure to pass, e.g. "accuracy >= 0.95".

One grammar, written the same on the command line (`--expect "accuracy>=0.95"`, repeatable) and in a
config (`expect: ["test_accuracy >= 0.95"]`): an optional split (train, validation, test; default
test), a metric, a comparison and a number. A malformed expectation or an unknown metric is a user
mistake (exit 2); one that is not met fails the run (exit 1). JSON output lists them as `expectations`.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from nnlearn.errors import NnlearnError

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
               "==": operator.eq}
_GRAMMAR = re.compile(r"^\s*(?:(train|validation|test)[._])?([A-Za-z_][A-Za-z0-9_]*)\s*"
                      r"(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
HOW_TO_WRITE = ('write [SPLIT_]METRIC OP NUMBER, e.g. "accuracy>=0.95" or "validation_loss<=0.3" '
                "(OP: >=, <=, >, <, ==; the split is test unless named).")


@dataclass
class Expectation:
    split: str
    metric: str
    comparison: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.split}_{self.metric} {self.comparison} {self.bound:g}"


@dataclass
class ExpectationResult:
    expectation: Expectation
    measured: float | None
    passed: bool

    def to_json(self) -> dict:
        return {"expect": self.expectation.text, "split": self.expectation.split,
                "metric": self.expectation.metric, "comparison": self.expectation.comparison,
                "bound": self.expectation.bound, "measured": self.measured, "passed": self.passed}


def parse_expectation(text: str, where: str = "--expect") -> Expectation:
    """"accuracy>=0.95" or "validation_loss <= 0.3" -> Expectation; NnlearnError if malformed."""
    match = _GRAMMAR.match(text)
    if not match:
        raise NnlearnError(f"cannot read the expectation {text!r}.", path=where, hint=HOW_TO_WRITE)
    split, metric, comparison, bound = match.groups()
    return Expectation(split or "test", metric, comparison, float(bound))


def expectations_for(config, command_line: list[str] | tuple = ()) -> list[Expectation]:
    """The config's `expect:` list followed by the command line's, checked against the metric names the
    config will measure (before any training)."""
    expectations = [parse_expectation(text, "expect") for text in config.expect]
    expectations += [parse_expectation(text) for text in command_line]
    names = ["loss"] + config.compile.resolved_metrics()
    planned = {"train": dict.fromkeys(names, 0.0), "test": dict.fromkeys(names, 0.0),
               "validation": dict.fromkeys(names, 0.0) if config.data.validation_split > 0 else None}
    check_expectations(expectations, planned)
    return expectations


def check_expectations(expectations: list[Expectation],
                       metrics: dict[str, dict[str, float] | None]) -> list[ExpectationResult]:
    """Compare each expectation with the measured metrics; unknown metrics are a user mistake."""
    results = []
    for expectation in expectations:
        split_metrics = metrics.get(expectation.split)
        if not split_metrics:
            raise NnlearnError(f"the expectation {expectation.text!r} needs the {expectation.split} split, "
                               "which this run does not have.", path="--expect",
                               hint="set data.validation_split above 0, or expect something of another split.")
        if expectation.metric not in split_metrics:
            names = ", ".join(f"{expectation.split}_{name}" for name in split_metrics)
            raise NnlearnError(f"unknown metric {expectation.metric!r} in {expectation.text!r}; this run "
                               f"measures: {names}.", path="--expect",
                               hint="expect one of those, e.g. \"accuracy>=0.9\" for a classifier or "
                                    "\"r2>=0.4\" for regression.")
        measured = split_metrics[expectation.metric]
        passed = (measured is not None and not math.isnan(measured)
                  and COMPARISONS[expectation.comparison](measured, expectation.bound))
        results.append(ExpectationResult(expectation, measured, passed))
    return results
