"""What the pictures of the inside of a model add to a run: train each shipped config once, then time
`draw_plots` with and without them (median of 3), beside the training time itself.

    python benchmarks/plot_cost.py [CONFIG_NAME ...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["coffee_roasting", "moons_mlp", "softmax_digits", "cnn_digits", "mlp_regression"]


def median_seconds(action, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        action()
        times.append(time.perf_counter() - clock)
    return statistics.median(times)


def main(names: list[str]) -> None:
    from nnlearn.pictures import inside_plots, plots
    from nnlearn.runs.rundir import RunDir
    from nnlearn.training.train import train

    print(f"{'config':<18} {'training':>9} {'plots':>7} {'+ inside':>9} {'inside share of the run':>24}")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            run = train(ROOT / "configs" / f"{name}.yaml", out=Path(folder) / name)
            with_inside = median_seconds(lambda run=run: plots.draw_plots(RunDir.open(run.run_dir)))
            drawn, numbers = inside_plots.draw_inside, plots.write_inside_numbers
            inside_plots.draw_inside = lambda *args, **kwargs: []
            plots.write_inside_numbers = lambda *args, **kwargs: None
            try:
                without = median_seconds(lambda run=run: plots.draw_plots(RunDir.open(run.run_dir)))
            finally:
                inside_plots.draw_inside, plots.write_inside_numbers = drawn, numbers
            extra = with_inside - without
            share = extra / (run.seconds + with_inside)
            print(f"{name:<18} {run.seconds:>8.2f}s {without:>6.2f}s {extra:>+8.2f}s {share:>23.0%}")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
