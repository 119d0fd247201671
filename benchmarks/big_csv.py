"""Time and memory of `nnlearn validate` and one epoch of `nnlearn train` on a big numeric CSV.

    python benchmarks/big_csv.py [--rows 1500000] [--features 20] [--repeats 1] [--keep FOLDER] [--skip NAME]
    python benchmarks/big_csv.py --rows 3000000     # about 456 MB
    python benchmarks/big_csv.py --rows 6000000     # about 912 MB

Writes a seeded CSV (1.5 M rows of 20 features and a 0/1 target: about 228 MB) and a logistic-regression
config for it in a temporary folder, then runs, each under `/usr/bin/time -v`, with the nnlearn of this
checkout:
  baseline  TensorFlow and Keras alone: a one-unit model fitted on 10 rows (what no data can go below)
  validate  nnlearn validate CONFIG
  train     nnlearn train CONFIG --set fit.epochs=1 --set fit.batch_size=4096 -q --no-plots --set data.stream=false
  streamed  the same with --set data.stream=true: batches read from disk, never the whole file
and prints the median wall time and peak memory (maximum resident set size) of each, and the peak
memory as a multiple of the file's size, with the machine's load average before and after (the times
depend on it). --skip leaves a command out (it can be given more than once). The folder is deleted
afterwards unless --keep names one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

NNLEARN = [sys.executable, "-m", "nnlearn"]
CHECKOUT = Path(__file__).resolve().parents[1]  # measured, whatever nnlearn is installed
CONFIG = """\
# A logistic regression on a generated CSV: one unit, f(x) = sigmoid(w·x + b)
name: big-csv
seed: 0
data:
  source: big.csv
  target: y
  test_split: 0.1
  validation_split: 0.1
  normalize: standard
model:
  layers:
    - {type: dense, units: 1, activation: linear}
compile:
  loss: binary_crossentropy
  from_logits: true
  optimizer: {type: adam, learning_rate: 0.01}
  metrics: [accuracy]
fit:
  epochs: 1
  batch_size: 4096
"""


def write_csv(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """Features ~ N(0, 1) written with 4 decimals; y = 1 when a fixed w·x plus noise is positive."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=features)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join([f"x{i + 1}" for i in range(features)] + ["y"]) + "\n")
        for start in range(0, rows, 100_000):
            x = rng.normal(size=(min(100_000, rows - start), features))
            y = (x @ weights + rng.normal(size=len(x)) > 0).astype(int)
            block = np.concatenate([x, y[:, None]], axis=1)
            text = "\n".join(",".join(f"{v:.4f}" for v in row[:-1]) + f",{int(row[-1])}" for row in block)
            handle.write(text + "\n")


def timed(command: list[str], folder: Path) -> tuple[float, int, int]:
    """(wall seconds, peak resident memory in bytes, exit status) of one command under /usr/bin/time -v."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT),
                                                                          os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=folder, capture_output=True, text=True,
                            check=False, env=environment)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    if wall is None or peak is None:
        raise SystemExit(f"cannot read /usr/bin/time's report:\n{result.stderr[-2000:]}")
    hours, minutes, seconds = wall.groups()
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-3000:], sep="\n")
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(peak.group(1)) * 1024, result.returncode


BASELINE = """\
import numpy as np
from nnlearn.model import build as model
keras = model.keras
m = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(1)])
m.compile(loss="mse", optimizer="adam")
m.fit(np.zeros((10, 20), "float32"), np.zeros((10, 1), "float32"), epochs=1, verbose=0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the CSV and config here and keep them")
    parser.add_argument("--skip", action="append", default=[], choices=["baseline", "validate", "train", "streamed"],
                        help="leave this command out")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nnlearn-big-csv-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = folder / "big.csv"
        if not csv_path.exists():
            write_csv(csv_path, args.rows, args.features)
        (folder / "big.yaml").write_text(CONFIG, encoding="utf-8")
        size = csv_path.stat().st_size
        print(f"{csv_path.name}: {args.rows:,} rows × {args.features} features + target, {size / 1e6:.0f} MB")
        print("load average (1, 5, 15 min): " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
        train = [*NNLEARN, "train", "big.yaml", "--set", "fit.epochs=1", "--set", "fit.batch_size=4096",
                 "-q", "--no-plots", "--out", "RUN"]
        commands = {
            "baseline": [sys.executable, "-c", BASELINE],
            "validate": [*NNLEARN, "validate", "big.yaml"],
            "train": train + ["--set", "data.stream=false"],
            "streamed": train + ["--set", "data.stream=true"],
        }
        for name, command in commands.items():
            if name in args.skip:
                continue
            walls, peaks = [], []
            for _ in range(args.repeats):
                shutil.rmtree(folder / "RUN", ignore_errors=True)
                wall, peak, status = timed(command, folder)
                if status != 0:
                    raise SystemExit(f"{name} exited {status}")
                walls.append(wall)
                peaks.append(peak)
            wall, peak = statistics.median(walls), statistics.median(peaks)
            print(f"{name:9} {wall:6.1f} s   peak {peak / 1e9:5.2f} GB   {peak / size:4.1f}× the file"
                  + (f"   (each: {', '.join(f'{w:.1f} s' for w in walls)})" if args.repeats > 1 else ""))
        print("load average (1, 5, 15 min): " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
