"""The test suite's time budgets, measured: each command run N times (default 3), the median printed.

    python benchmarks/test_budgets.py [--repeats N] [--busy]

--busy keeps one core spinning (`while True: pass`) in a second process while the commands run, the
way a busy machine looks. Budgets on the 2-core machine: the whole suite under 5 minutes (and passing
with a core kept busy), the quick suite (-m "not slow") about 2 minutes, the TensorFlow-free suite
(-m "not tensorflow") under half a minute.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    'pytest -m "not tensorflow"': [sys.executable, "-m", "pytest", "-q", "-m", "not tensorflow"],
    'pytest -m "not slow"': [sys.executable, "-m", "pytest", "-q", "-m", "not slow"],
    "pytest (the whole suite)": [sys.executable, "-m", "pytest", "-q"],
    "nnlearn smoke configs/": [str(Path(sys.executable).with_name("nnlearn")), "smoke", "configs/"],
}


def timed(command: list[str]) -> tuple[float, str]:
    clock = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - clock
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {result.returncode}):\n{result.stdout[-3000:]}")
    return seconds, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="keep one core busy while measuring")
    options = parser.parse_args()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if options.busy else None
    try:
        for name, command in COMMANDS.items():
            runs = [timed(command) for _ in range(options.repeats)]
            times = [seconds for seconds, _ in runs]
            print(f"{name:<28} median {statistics.median(times):6.1f} s   "
                  f"({', '.join(f'{t:.1f}' for t in times)})   {runs[-1][1]}", flush=True)
    finally:
        if spinner:
            spinner.kill()


if __name__ == "__main__":
    main()
