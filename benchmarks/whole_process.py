"""Time whole processes, as a learner waits for them: `nnlearn train` against the plain Keras script, and
`nnlearn watch` from a save to the metrics against a cold `nnlearn train` of the same config.

    python benchmarks/whole_process.py [--repeats N] [--jobs logistic_regression cnn_digits watch]

Each job runs both commands as subprocesses, alternating (plain, nnlearn, plain, nnlearn, ...), the
k-th pair with seed k, and prints the median seconds, their ratio and each command's test accuracy
(per seed, and the mean: one seed's test split is a few hundred rows, where one digit moves the
accuracy by 0.3%):

  logistic_regression  breast_cancer, one unit, 100 epochs, batch 32
  cnn_digits           digits, conv32-pool-conv64-dropout-dense64-10, 20 epochs, batch 32
  watch                configs/logistic_regression.yaml as it is: cold `nnlearn train -q --no-plots`
                       against `nnlearn watch --json` retraining after each save (seconds from the
                       save to the metrics, measured here, not taken from watch's own report)

The plain script is benchmarks/plain_script.py. Numbers vary with the machine and its load: compare
ratios measured in one run, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NNLEARN = [PYTHON, "-m", "nnlearn"]
JOBS = {
    "logistic_regression": ("configs/logistic_regression.yaml", 100, 32),
    "cnn_digits": ("configs/cnn_digits.yaml", 20, 32),
}


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    clock = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - clock
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def compare(job: str, repeats: int, folder: Path) -> None:
    config, epochs, batch_size = JOBS[job]
    plain_times, our_times, plain_accuracy, our_accuracy = [], [], [], []
    for seed in range(repeats):  # each seed splits, initialises and shuffles differently, in both commands
        plain = [PYTHON, str(ROOT / "benchmarks" / "plain_script.py"), job, str(epochs), str(batch_size), str(seed)]
        ours = NNLEARN + ["train", str(ROOT / config), "-q", "--no-plots", "--json", "--set", f"fit.epochs={epochs}",
                          "--set", f"fit.batch_size={batch_size}", "--set", f"seed={seed}"]
        seconds, output = timed(plain, folder)
        plain_times.append(seconds)
        plain_accuracy.append(float(output.split()[-1]))
        seconds, output = timed(ours, folder)
        our_times.append(seconds)
        our_accuracy.append(json.loads(output)["metrics"]["test"]["accuracy"])
    report(job, "plain Keras script", plain_times, "nnlearn train -q --no-plots", our_times)
    print(f"  test accuracy, mean over seeds 0-{repeats - 1}: plain {statistics.mean(plain_accuracy):.4f}, "
          f"nnlearn {statistics.mean(our_accuracy):.4f}")
    print(f"  per seed: {' '.join(f'{a:.4f}' for a in plain_accuracy)} | "
          f"{' '.join(f'{a:.4f}' for a in our_accuracy)}")


def watch(repeats: int, folder: Path) -> None:
    config = folder / "logistic_regression.yaml"
    text = (ROOT / "configs" / "logistic_regression.yaml").read_text()
    config.write_text(text)
    cold = [timed(NNLEARN + ["train", str(config), "-q", "--no-plots"], folder)[0] for _ in range(repeats)]
    process = subprocess.Popen(NNLEARN + ["watch", str(config), "--json"], cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    warm, reported = [], []
    try:
        process.stdout.readline()  # the first run, which imports TensorFlow
        for index in range(repeats):
            time.sleep(0.5)
            clock = time.perf_counter()
            config.write_text(text.replace("learning_rate: 0.01", f"learning_rate: 0.0{index + 2}"))
            line = json.loads(process.stdout.readline())
            warm.append(time.perf_counter() - clock)
            reported.append(line["seconds"])
    finally:
        process.terminate()
        process.wait()
    report("watch", "cold nnlearn train", cold, "watch: save → metrics", warm)
    print(f"  watch's own report of the same: median {statistics.median(reported):.2f} s")


def report(job: str, first: str, first_times: list[float], second: str, second_times: list[float]) -> None:
    a, b = statistics.median(first_times), statistics.median(second_times)
    print(f"{job}: {first} {a:.2f} s, {second} {b:.2f} s (median of {len(first_times)}), ratio {b / a:.2f}")
    print(f"  runs: {' '.join(f'{t:.2f}' for t in first_times)} | {' '.join(f'{t:.2f}' for t in second_times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", nargs="+", default=[*JOBS, "watch"], choices=[*JOBS, "watch"])
    arguments = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as name:
        for job in arguments.jobs:
            if job == "watch":
                watch(arguments.repeats, Path(name))
            else:
                compare(job, arguments.repeats, Path(name))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
