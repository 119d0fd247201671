"""What `nnlearn watch CONFIG --serve` adds to a save → metrics time: `watch --json` and `watch --json --serve`
run side by side, each on its own copy of the config, and are saved in turn (plain, served, plain, ...), the
k-th pair with the same edit; the seconds from each save to its JSON line are measured here. The served
one has a page open on it the whole time (a client reading GET /api/events, as a browser tab does), so
the state's JSON is made and sent as in use. Its goal: at most 10% more.

    python benchmarks/serve_overhead.py [--repeats N] [--configs configs/moons_mlp.yaml ...]

configs/moons_mlp.yaml (two features: the decision boundary and 16 units' pictures are drawn while it
trains) and configs/logistic_regression.yaml (30 features: curves only) by default. Numbers vary with the
machine and its load: compare the ratio measured in one run, on a quiet machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
NNLEARN = [sys.executable, "-m", "nnlearn"]
CONFIGS = ["configs/moons_mlp.yaml", "configs/logistic_regression.yaml"]
RATES = ["0.02", "0.005", "0.01"]  # each save changes the learning rate, so that it retrains


class Watcher:
    """One `nnlearn watch CONFIG --json` process (served or not) on its own copy of the config."""

    def __init__(self, source: Path, folder: Path, serve: bool):
        folder.mkdir(parents=True)
        self.config = folder / source.name
        shutil.copy(source, self.config)
        self.text = self.config.read_text()
        options = ["--serve", "--port", "0", "--no-browser"] if serve else []
        self.process = subprocess.Popen(NNLEARN + ["watch", str(self.config), "--json", "-q", *options], cwd=folder,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if serve:
            address = self.process.stderr.readline().split()[-1]  # with --json, the address goes to stderr
            threading.Thread(target=read_events, args=(address,), daemon=True).start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.process.stdout.readline()  # the first run, which imports TensorFlow

    def save_and_wait(self, rate: str) -> float:
        """Seconds from the save to the run's JSON line."""
        edited = self.text.replace("learning_rate: 0.01", f"learning_rate: {rate}")
        clock = time.perf_counter()
        self.config.write_text(edited)
        line = json.loads(self.process.stdout.readline())
        assert "metrics" in line, line
        return time.perf_counter() - clock

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def read_events(address: str) -> None:
    """An open page: read the event stream until the server goes."""
    parts = urlsplit(address)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    connection.request("GET", f"/api/events?{parts.query}")
    response = connection.getresponse()
    while response.fp.readline():
        pass


def measure(config: str, repeats: int, folder: Path) -> None:
    plain = Watcher(ROOT / config, folder / "plain", serve=False)
    served = Watcher(ROOT / config, folder / "served", serve=True)
    plain_times, served_times = [], []
    try:
        for index in range(repeats):
            rate = RATES[index % len(RATES)]
            time.sleep(0.5)
            plain_times.append(plain.save_and_wait(rate))
            time.sleep(0.5)
            served_times.append(served.save_and_wait(rate))
    finally:
        plain.stop()
        served.stop()
    a, b = statistics.median(plain_times), statistics.median(served_times)
    print(f"{config}: watch {a:.3f} s, watch --serve {b:.3f} s (save → metrics, median of {repeats}), "
          f"ratio {b / a:.3f} (goal ≤ 1.10)")
    print(f"  runs: {' '.join(f'{t:.3f}' for t in plain_times)} | {' '.join(f'{t:.3f}' for t in served_times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    arguments = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as name:
        for index, config in enumerate(arguments.configs):
            measure(config, arguments.repeats, Path(name) / str(index))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
