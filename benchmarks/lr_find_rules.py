"""Measure lr-find's suggestion rules on each shipped config: the rate each rule suggests, and the test score
of a run trained at it, beside the optimizer's usual rate and the config's own.

    python benchmarks/lr_find_rules.py [--configs iris_softmax moons_mlp ...]

The rules, each read off the same range test (nnlearn.workflows.lr_find), each brought into the range lint
accepts:
  minimum   a tenth of the rate at the lowest smoothed loss (fast.ai's "minimum")
  steep     where the smoothed loss falls fastest against log(rate) (fast.ai's "steep")
  valley    halfway along the longest stretch where the smoothed loss keeps falling (fast.ai's "valley")
The score is the test accuracy (r2 for a regression), with the test loss and the training loss beside it.
Runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scores(name: str, rate: float, out: Path) -> tuple[float, float, float]:
    """(test score, test loss, training loss) of the config trained at rate."""
    from nnlearn.training.train import train

    run = train(ROOT / "configs" / f"{name}.yaml", [f"compile.optimizer.learning_rate={rate}"],
                out=out / f"{name}-{rate:g}")
    test = run.metrics["test"]
    return test.get("accuracy", test.get("r2")), test["loss"], run.metrics["train"]["loss"]


def main() -> None:
    from nnlearn.config.learning_rates import usual_rate
    from nnlearn.config.loading import load_config
    from nnlearn.workflows.lr_find import RULES, range_test

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.configs:
            config = load_config(ROOT / "configs" / f"{name}.yaml")
            found = range_test(config, ROOT / "configs")
            rates = {"usual": usual_rate(config.compile.optimizer.type),
                     "own": config.compile.optimizer.learning_rate}
            rates.update({rule: found.rate_by(rule) for rule in RULES})
            measured = {}
            for rate in sorted(set(rates.values())):
                measured[rate] = scores(name, rate, Path(folder))
            for label, rate in rates.items():
                score, loss, train_loss = measured[rate]
                rows.append((name, label, rate, score, loss))
                print(f"{name:<20} {label:<8} rate {rate:<8.2g} test score {score:.4f}  test loss {loss:.4g}  "
                      f"training loss {train_loss:.4g}", flush=True)
    print(f"\n{'config':<20} " + " ".join(f"{label:>22}" for label in ("usual", "own", *RULES)))
    for name in args.configs:
        cells = {label: (rate, score) for config, label, rate, score, _ in rows if config == name}
        print(f"{name:<20} " + " ".join(f"{cells[label][1]:>12.4f} @ {cells[label][0]:<7.2g}"
                                        for label in ("usual", "own", *RULES)))


if __name__ == "__main__":
    main()
