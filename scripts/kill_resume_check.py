"""Kill `nnlearn train` at random moments (start-up included), resume, and compare with an
uninterrupted run.

    python scripts/kill_resume_check.py --kills 12 --seed 0
    python scripts/kill_resume_check.py --kills 8 --stream    # the same for a run that streams its CSV
    python scripts/kill_resume_check.py --kills 0 --concurrent 6  # two commands on one run at once

Each kill is a SIGKILL after a random delay between 0 and the uninterrupted run's own duration. A run
folder that exists is resumed with `nnlearn train --resume` (until it finishes); a kill before the
folder existed is retried with the same --out. The resumed history.csv and metrics.json (less the
seconds it took) must equal the uninterrupted run's byte for byte. Exit 1 if any differs.

--concurrent N: N runs killed mid-training, each then resumed by two `nnlearn train --resume` started at
the same moment, with a `plot` of the run in the middle: exactly one resumes, the other writer is refused
at once naming it (exit 2), and the run still ends byte-identical to the uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnlearn.runs.lock import LOCK_FILE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.configs import MOONS  # noqa: E402  the two moons the tests train

CONFIG = MOONS.replace("name: moons", "name: killed\nseed: 3").replace("epochs: 6,", "epochs: 40,")
# --stream: a CSV of numbers read from disk a block at a time (data.stream: true), written by
# streamed_csv with a fixed seed
STREAMED_CONFIG = CONFIG.replace("data: {source: moons, n_samples: 400, noise: 0.2}",
                                 "data: {source: rows.csv, target: y, stream: true}").replace(
    "fit: {epochs: 40, batch_size: 8}", "fit: {epochs: 10, batch_size: 32}")


def streamed_csv(path: Path, rows: int = 40_000) -> None:
    """Two noisy features and a label that depends on both (seeded)."""
    chance = random.Random(0)
    lines = ["x1,x2,y"]
    for _ in range(rows):
        x1, x2 = chance.gauss(0, 1), chance.gauss(0, 1)
        lines.append(f"{x1:.6f},{x2:.6f},{int(x1 * x2 + chance.gauss(0, 0.3) > 0)}")
    path.write_text("\n".join(lines) + "\n")


def train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlearn", "train", *args, "--no-plots", "-q"],
                          capture_output=True, text=True)


def outcome(run_dir: Path) -> tuple[str, str]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("seconds", None)
    return (run_dir / "history.csv").read_text(), json.dumps(metrics, sort_keys=True)


def moment(run_dir: Path) -> str:
    """Where the kill landed, from what the run folder holds."""
    if not (run_dir / "run.json").exists():
        return "before the run folder"
    status = json.loads((run_dir / "run.json").read_text()).get("status")
    if status == "starting":
        return "start-up (TensorFlow loading)"
    if status == "running":
        return "training"
    return f"after training ({status})"


def holder(run_dir: Path) -> int | None:
    """The process that last took the run's lock, as its lock file says (nnlearn.runs.lock)."""
    try:
        return int((run_dir / LOCK_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


LONGER = "fit.epochs=400"  # long enough to be killed after its first checkpoint and resumed twice at once


def concurrent(count: int, folder: Path, config: Path, chance: random.Random) -> tuple[int, int]:
    """(runs byte-identical, writers refused as they should be) of count runs resumed twice at once."""
    identical, refused = 0, 0
    if count:
        train(str(config), "--set", LONGER, "--out", str(folder / "longer-reference"))
        expected = outcome(folder / "longer-reference")
    for number in range(count):
        run_dir = folder / f"twice-{number}"
        process = subprocess.Popen([sys.executable, "-m", "nnlearn", "train", str(config), "--set", LONGER, "--out",
                                    str(run_dir), "--no-plots", "-q"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while not (run_dir / "checkpoint" / "checkpoint.npz").exists() and process.poll() is None:
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.1))  # soon after the first epoch: most of the run is left to resume
        process.send_signal(signal.SIGKILL)
        process.wait()
        command = [sys.executable, "-m", "nnlearn", "train", "--resume", str(run_dir), "--no-plots", "-q"]
        both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(2)]
        while holder(run_dir) not in {resumer.pid for resumer in both} and \
                any(resumer.poll() is None for resumer in both):
            time.sleep(0.01)  # until one of them holds the run: a plot now must be refused
        plot = subprocess.run([sys.executable, "-m", "nnlearn", "plot", str(run_dir)], capture_output=True,
                              text=True)
        outputs = [(resumer.communicate()[0], resumer.returncode) for resumer in both]
        codes = sorted(code for _, code in outputs)
        busy = [" ".join(text.split()) for text, code in outputs if code == 2]
        fair = codes == [0, 2] and "is being written by process" in busy[0] and "Traceback" not in str(outputs)
        plot_fair = plot.returncode == 0 or "is being written by process" in " ".join(plot.stderr.split() +
                                                                                     plot.stdout.split())
        refused += fair and plot_fair
        same = (run_dir / "metrics.json").exists() and outcome(run_dir) == expected
        identical += same
        print(f"resumed twice at once {number + 1:>2}: exits {codes}, plot exit {plot.returncode}: "
              f"{'byte-identical' if same else 'DIFFERENT'}" + ("" if fair and plot_fair else
                                                                f" (unexpected: {busy} {plot.stderr[-300:]})"))
    return identical, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stream", action="store_true", help="train on a CSV streamed from disk")
    parser.add_argument("--concurrent", type=int, default=0, help="runs resumed by two processes at once")
    options = parser.parse_args()
    chance = random.Random(options.seed)
    folder = Path(tempfile.mkdtemp(prefix="nnlearn-kill-"))
    config = folder / "config.yaml"
    config.write_text(STREAMED_CONFIG if options.stream else CONFIG)
    if options.stream:
        streamed_csv(folder / "rows.csv")
    clock = time.perf_counter()
    reference = train(str(config), "--out", str(folder / "reference"))
    duration = time.perf_counter() - clock
    if reference.returncode != 0:
        print(reference.stdout + reference.stderr)
        return 1
    expected = outcome(folder / "reference")
    identical, moments, tracebacks = 0, {}, 0
    for number in range(options.kills):
        run_dir = folder / f"killed-{number}"
        delay = chance.uniform(0, duration)
        process = subprocess.Popen([sys.executable, "-m", "nnlearn", "train", str(config), "--out", str(run_dir),
                                    "--no-plots", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        where = moment(run_dir)
        moments[where] = moments.get(where, 0) + 1
        for _ in range(3):
            if (run_dir / "run.json").exists() and json.loads((run_dir / "run.json").read_text())["status"] \
                    == "finished":
                break
            result = train("--resume", str(run_dir)) if run_dir.exists() else train(str(config), "--out",
                                                                                    str(run_dir))
            tracebacks += "Traceback" in result.stdout + result.stderr
        same = (run_dir / "metrics.json").exists() and outcome(run_dir) == expected
        identical += same
        print(f"kill {number + 1:>2} after {delay:5.2f} s, during {where}: "
              f"{'byte-identical' if same else 'DIFFERENT'}")
    print(f"\n{options.kills} kills ({', '.join(f'{count} {where}' for where, count in moments.items())}); "
          f"{identical} resumed byte-identical to the uninterrupted run; {tracebacks} tracebacks.")
    twice, refused = concurrent(options.concurrent, folder, config, chance)
    if options.concurrent:
        print(f"{options.concurrent} runs resumed by two processes at once: {refused} with one writer resuming and "
              f"the other refused naming it (a plot in the middle too); {twice} byte-identical.")
    if identical == options.kills and not tracebacks and twice == refused == options.concurrent:
        shutil.rmtree(folder, ignore_errors=True)
        return 0
    print(f"The runs are kept in {folder}.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
