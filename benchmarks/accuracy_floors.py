"""Measure each shipped config's test score over seeds, and the floor the suite checks against.

    python benchmarks/accuracy_floors.py [--seeds 10] [--configs cnn_digits moons_mlp ...]

Each config is trained as shipped with `--set seed=K` for K = 0 .. seeds-1 (another seed is another split
and other initial weights), and the lowest test score is reported with the floor derived from it:

  accuracy   the lowest test accuracy less two test examples (2 / test rows), rounded down to 3 places:
             a new TensorFlow that moves a prediction or two does not fail the suite, a real regression does
  r2         the lowest test r2 less 0.05 (one example's error moves r2 by up to ~0.05 on 89 test rows)

tests/test_shipped_configs.py writes each floor with the figures this printed. Runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METRIC = {"mlp_regression": "r2"}
R2_MARGIN = 0.05


def floor_of(metric: str, lowest: float, test_rows: int) -> float:
    """The floor the suite checks: the lowest score over seeds, less the margin named in the docstring."""
    margin = R2_MARGIN if metric == "r2" else 2 / test_rows
    return math.floor((lowest - margin) * 1000) / 1000


def measure(name: str, seeds: int, out: Path) -> tuple[str, list[float], int]:
    from nnlearn.training.train import train

    metric = METRIC.get(name, "accuracy")
    scores, rows = [], 0
    for seed in range(seeds):
        run = train(ROOT / "configs" / f"{name}.yaml", [f"seed={seed}"], out=out / f"{name}-{seed}")
        scores.append(run.metrics["test"][metric])
        rows = len(run.prepared.splits.test.y)
        print(f"  {name} seed {seed}: test {metric} {scores[-1]:.4f}", flush=True)
    return metric, scores, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--configs", nargs="*", default=sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.configs:
            metric, scores, rows = measure(name, args.seeds, Path(folder))
            results.append((name, metric, scores, rows))
    print(f"\n{'config':<20} {'metric':<9} {'test rows':>9} {'lowest':>8} {'mean':>8} {'highest':>8} {'floor':>7}")
    for name, metric, scores, rows in results:
        print(f"{name:<20} {metric:<9} {rows:>9} {min(scores):>8.4f} {sum(scores) / len(scores):>8.4f} "
              f"{max(scores):>8.4f} {floor_of(metric, min(scores), rows):>7.3f}")


if __name__ == "__main__":
    main()
