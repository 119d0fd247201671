"""Train every run of the scenario corpus (tests/scenarios/corpus.py) and print the diagnosis's confusion
table: the truth each run was built to have, against the verdict nnlearn gives it; then how long a
diagnosis takes on long synthetic histories (it reads each epoch a few times: linear in the epochs).

    python benchmarks/diagnosis_scenarios.py [--only NAME ...] [--markdown]

A verdict off the diagonal counts as right when the scenario accepts it (the count is starred: the two
digits configs overfit a little by the course's rule, see the corpus). Runs in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = {"diverged": "diverged", "still_improving": "still improving", "learned_nothing": "learned nothing",
         "high_bias": "high bias", "high_variance": "high variance", "healthy": "healthy"}


def verdicts(only: list[str]) -> list[tuple[object, str, float]]:
    """(scenario, verdict kind, seconds) of each scenario, trained in a temporary folder."""
    from tests.scenarios.corpus import SCENARIOS, train_and_diagnose

    found = []
    with tempfile.TemporaryDirectory() as folder:
        for scenario in SCENARIOS:
            if only and scenario.name not in only:
                continue
            here = Path(folder) / scenario.name
            here.mkdir()
            os.chdir(here)
            clock = time.perf_counter()
            kind = train_and_diagnose(scenario, here)
            found.append((scenario, kind, time.perf_counter() - clock))
            mark = "ok" if kind in scenario.accepted else "WRONG"
            print(f"{scenario.name:24} {scenario.task:12} truth {scenario.truth:16} verdict {kind:16} {mark}",
                  file=sys.stderr, flush=True)
        os.chdir(ROOT)
    return found


def confusion_table(found) -> str:
    """Markdown: one row per truth, one column per verdict, counts (starred where an accepted other verdict)."""
    from tests.scenarios.corpus import VERDICTS

    lines = ["| truth ↓ verdict → | " + " | ".join(NAMES[kind] for kind in VERDICTS) + " | runs | tasks |",
             "| --- |" + " ---: |" * len(VERDICTS) + " ---: | --- |"]
    for truth in VERDICTS:
        rows = [(scenario, kind) for scenario, kind, _ in found if scenario.truth == truth]
        if not rows:
            continue
        cells = []
        for kind in VERDICTS:
            count = sum(1 for _, said in rows if said == kind)
            starred = count and kind != truth and all(said in scenario.accepted for scenario, said in rows
                                                      if said == kind)
            cells.append(f"{count}{'*' if starred else ''}" if count else "·")
        tasks = sorted({scenario.task for scenario, _ in rows})
        lines.append(f"| {NAMES[truth]} | " + " | ".join(cells) + f" | {len(rows)} | {', '.join(tasks)} |")
    right = sum(1 for scenario, kind, _ in found if kind in scenario.accepted)
    lines.append("")
    lines.append(f"{right} of {len(found)} verdicts accepted; {sum(1 for s, k, _ in found if k == s.truth)} "
                 "on the diagonal.")
    return "\n".join(lines)


def diagnosis_seconds(epochs: int) -> float:
    """The time diagnose() takes on a synthetic history of this many epochs (a run that overfits)."""
    import numpy as np

    from nnlearn.insight.diagnose import diagnose
    from nnlearn.insight.run_numbers import RunNumbers

    train = np.geomspace(0.7, 1e-4, epochs)
    validation = np.concatenate([np.geomspace(0.7, 0.2, epochs // 100), np.linspace(0.2, 2.0, epochs - epochs // 100)])
    history = [{"epoch": float(number), "loss": float(loss), "val_loss": float(val), "accuracy": 1.0,
                "val_accuracy": 0.7} for number, (loss, val) in enumerate(zip(train, validation), start=1)]
    metrics = {"train": {"loss": 1e-4, "accuracy": 1.0}, "validation": {"loss": 2.0, "accuracy": 0.7},
               "test": {"loss": 2.0, "accuracy": 0.7}}
    numbers = RunNumbers(history, metrics, {"accuracy": 0.5}, epochs, 0.001, "standard", 100,
                         validation_rows=100, initial_loss=0.693)
    clock = time.perf_counter()
    [verdict] = diagnose(numbers)
    assert verdict.kind == "high_variance"
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="scenario names (default: all)")
    parser.add_argument("--no-training", action="store_true", help="only time the diagnosis itself")
    arguments = parser.parse_args()
    if not arguments.no_training:
        clock = time.perf_counter()
        found = verdicts(arguments.only)
        print(confusion_table(found))
        print(f"\n{len(found)} runs trained and diagnosed in {time.perf_counter() - clock:.0f} s")
    print("\ndiagnose() on a synthetic history (best of 3):")
    for epochs in (1_000, 10_000, 100_000):
        best = min(diagnosis_seconds(epochs) for _ in range(3))
        print(f"  {epochs:>7,} epochs: {best * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
