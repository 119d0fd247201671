"""`nnlearn smoke`: does every config still build and *learn*? Seconds per config, for CI.

For each config: validate it, build the model, measure the loss on a small seeded subset of the
training split, take a few gradient steps on that subset, and measure again. The loss must go down.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from nnlearn.errors import NnlearnError
from nnlearn.training.measure import measure
from nnlearn.workflows.validate import validate_file

SUBSET_ROWS = 256
STEPS = 40


@dataclass
class SmokeResult:
    """One config's smoke run: status is passed, failed or invalid."""

    config: Path
    status: str
    seconds: float = 0.0
    initial_loss: float | None = None
    final_loss: float | None = None
    message: str = ""
    test: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"config": str(self.config), "status": self.status, "seconds": round(self.seconds, 3),
                "initial_loss": self.initial_loss, "final_loss": self.final_loss,
                "message": self.message, "test": self.test}


def find_configs(paths: list[Path]) -> list[Path]:
    """Config files named directly, and every .yaml/.yml file in named folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            # every entry named like a config, a broken link or a FIFO too: its check says what is wrong with it
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir())
        elif path.exists():
            found.append(path)
        else:
            raise NnlearnError(f"{path} does not exist.", hint="give config files or folders of configs.")
    if not found:
        raise NnlearnError(f"no .yaml configs found in {', '.join(map(str, paths))}.",
                           hint="give config files or folders of configs.")
    return found


def smoke_config(path: Path) -> SmokeResult:
    """Validate, build and take a few steps on one config; never raises for the config's faults."""
    clock = time.perf_counter()
    report = validate_file(path)
    if not report.valid:
        return SmokeResult(path, "invalid", time.perf_counter() - clock,
                           message="; ".join(str(problem) for problem in report.errors))
    try:
        result = _learn_a_little(report.prepared, path)  # the data validate already loaded and split
    except NnlearnError as error:
        result = SmokeResult(path, "invalid", message=str(error))
    result.seconds = time.perf_counter() - clock
    return result


def _learn_a_little(prepared, path: Path) -> SmokeResult:
    from nnlearn.model import build as tf_model
    from nnlearn.training import steps

    config = prepared.config
    rng = np.random.default_rng(config.seed)
    x, y = prepared.x("train"), prepared.y("train")
    rows = rng.choice(len(x), size=min(SUBSET_ROWS, len(x)), replace=False)
    x, y = x[rows], y[rows]
    model = tf_model.build_model(config, prepared.input_shape)
    tf_model.compile_model(model, config)
    subset = steps.evaluation_batches(x, y)
    initial = float(model.evaluate(subset, verbose=0, return_dict=True)["loss"])
    batches, _ = steps.training_batches(x, y, config)
    batches = batches.repeat()
    model.fit(batches, epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0)
    final = float(model.evaluate(subset, verbose=0, return_dict=True)["loss"])
    test = measure(model, prepared, "test")
    learning_rate = config.compile.optimizer.learning_rate
    if not math.isfinite(final):
        return SmokeResult(path, "failed", initial_loss=initial, final_loss=final, test=test,
                           message=f"the loss became {final} within {STEPS} steps: the learning rate "
                                   f"({learning_rate}) is probably too large.")
    if not final < initial:
        return SmokeResult(path, "failed", initial_loss=initial, final_loss=final, test=test,
                           message=f"the loss did not go down in {STEPS} steps ({initial:.4g} → "
                                   f"{final:.4g}): check the learning rate ({learning_rate}) and that "
                                   "the output layer and loss fit the labels.")
    return SmokeResult(path, "passed", initial_loss=initial, final_loss=final, test=test)


def exit_code(results: list[SmokeResult]) -> int:
    """2 if any config is invalid, else 1 if any failed to learn, else 0."""
    statuses = {result.status for result in results}
    return 2 if "invalid" in statuses else (1 if "failed" in statuses else 0)


def junit_xml(results: list[SmokeResult]) -> str:
    """JUnit XML: one testcase per config; failed → <failure>, invalid → <error>."""
    suite = ElementTree.Element("testsuite", {
        "name": "nnlearn smoke", "tests": str(len(results)),
        "failures": str(sum(r.status == "failed" for r in results)),
        "errors": str(sum(r.status == "invalid" for r in results)),
        "time": f"{sum(r.seconds for r in results):.3f}"})
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": "nnlearn.smoke", "name": str(result.config), "time": f"{result.seconds:.3f}"})
        if result.status == "failed":
            ElementTree.SubElement(case, "failure", {"message": result.message}).text = result.message
        elif result.status == "invalid":
            ElementTree.SubElement(case, "error", {"message": result.message}).text = result.message
        else:
            ElementTree.SubElement(case, "system-out").text = (
                f"loss {result.initial_loss:.6g} -> {result.final_loss:.6g}")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(suite, encoding="unicode") + "\n"
