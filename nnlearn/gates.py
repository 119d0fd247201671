"""Metric gates: `--expect "accuracy>=0.95"` on train and eval, or an `expect:` section in the config.

A gate names an optional split (train, validation, test; default test), a metric, a comparison and a
number. A malformed gate or an unknown metric is a user mistake (exit 2); a gate that is not met fails
the run (exit 1).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from nnlearn.errors import NnlearnError

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
               "==": operator.eq}
_GATE = re.compile(r"^\s*(?:(train|validation|test)[._])?([A-Za-z_][A-Za-z0-9_]*)\s*"
                   r"(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_CONDITION = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass
class Gate:
    split: str
    metric: str
    comparison: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.split}_{self.metric} {self.comparison} {self.bound:g}"


@dataclass
class GateResult:
    gate: Gate
    measured: float | None
    passed: bool

    def to_json(self) -> dict:
        return {"expect": self.gate.text, "split": self.gate.split, "metric": self.gate.metric,
                "comparison": self.gate.comparison, "bound": self.gate.bound,
                "measured": self.measured, "passed": self.passed}


def parse_gate(text: str) -> Gate:
    """"accuracy>=0.95" or "validation_loss <= 0.3" -> Gate; NnlearnError if malformed."""
    match = _GATE.match(text)
    if not match:
        raise NnlearnError(f"cannot read the expectation {text!r}.", path="--expect",
                           hint='write [SPLIT_]METRIC OP NUMBER, e.g. "accuracy>=0.95" or '
                                '"validation_loss<=0.3" (OP: >=, <=, >, <, ==).')
    split, metric, comparison, bound = match.groups()
    return Gate(split or "test", metric, comparison, float(bound))


def parse_config_gate(key: str, condition: str) -> Gate:
    """A config's `expect:` entry, e.g. test_accuracy: ">=0.95"."""
    match = _CONDITION.match(str(condition))
    if not match:
        raise ValueError(f"cannot read the condition {condition!r} of {key}; write it as \">=0.95\".")
    gate = parse_gate(f"{key}{match.group(1)}{match.group(2)}")
    if not re.match(r"^(train|validation|test)_", key):
        raise ValueError(f"{key!r} must start with its split: train_, validation_ or test_ (e.g. "
                         f"test_{key}).")
    return gate


def gates_for(config, expectations: list[str] | tuple = ()) -> list[Gate]:
    """The config's `expect:` gates followed by the command line's, checked against the metric
    names the config will measure (before any training)."""
    gates = [parse_config_gate(key, value) for key, value in config.expect.items()]
    gates += [parse_gate(text) for text in expectations]
    names = ["loss"] + config.compile.resolved_metrics()
    planned = {"train": dict.fromkeys(names, 0.0), "test": dict.fromkeys(names, 0.0),
               "validation": dict.fromkeys(names, 0.0) if config.data.validation_split > 0 else None}
    check_gates(gates, planned)
    return gates


def check_gates(gates: list[Gate], metrics: dict[str, dict[str, float] | None]) -> list[GateResult]:
    """Compare each gate with the measured metrics; unknown metrics are a user mistake."""
    results = []
    for gate in gates:
        split_metrics = metrics.get(gate.split)
        if not split_metrics:
            raise NnlearnError(f"the expectation {gate.text!r} needs the {gate.split} split, which this "
                               "run does not have.", path="--expect",
                               hint="set data.validation_split above 0, or gate another split.")
        if gate.metric not in split_metrics:
            names = ", ".join(f"{gate.split}_{name}" for name in split_metrics)
            raise NnlearnError(f"unknown metric {gate.metric!r} in {gate.text!r}; this run measures: "
                               f"{names}.", path="--expect",
                               hint="gate one of those, e.g. \"accuracy>=0.9\" for a classifier or "
                                    "\"r2>=0.4\" for regression.")
        measured = split_metrics[gate.metric]
        passed = (measured is not None and not math.isnan(measured)
                  and COMPARISONS[gate.comparison](measured, gate.bound))
        results.append(GateResult(gate, measured, passed))
    return results
