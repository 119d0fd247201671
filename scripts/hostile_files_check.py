"""Feed nnlearn hostile files and count tracebacks (there must be none).

    python scripts/hostile_files_check.py --mutations 300 --seed 0

Three families, each run through the real CLI in-process (none reaches TensorFlow):
- configs: random byte and value mutations of a valid config, plus pathological YAML, for `validate`
  and `explain`;
- data files: damaged CSV and NPZ files named by a valid config, for `validate`, and as
  `predict --input`;
- paths: names too long, loops of links, pipes, devices, folders, `~nouser`, for every command that
  takes a path;
- runs: every file of a stopped run emptied, truncated, bit-flipped (ten times each), replaced by
  garbage, by another JSON type, by a folder or by a pipe, or deleted, for `train --resume` and `runs`.
- output streams: commands with stdout or stderr closed (`>&-`, `2>&-`), in processes of their own;
- narrow encodings: commands whose terminal is ascii or latin-1 (PYTHONIOENCODING);
- concurrent commands: every command that writes a run (or a sweep) while another process holds it, and
  the readers, which must not wait;
- sizes: images whose header claims billions of pixels, identifier and huge text columns, sweeps of too
  many runs or seeds, an image folder too big for memory;
- duplicate names: CSV headers naming a column twice or not at all, for every reader and `predict --input`;
- quadratic inputs: long cells, many categories, many epochs and many grid values, each within a time
  and memory budget (measured, printed).
A case passes when the command exits 0 or 2 without a traceback (exit 0 for a mutation that happens
to stay valid), and, for the new classes, with the expected message. Exit 1 if any case fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from nnlearn.cli.app import app
from nnlearn.runs.rundir import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.configs import TINY  # noqa: E402
from tests.files import png_claiming  # noqa: E402

CONFIG = TINY  # the small config the tests train
ODD_VALUES = ["yes", "no", "true", "~", "null", "[]", "{}", "1.5", "'7'", "-0", ".nan", ".inf", "1e400",
              "99999999999999999999999", "\"\"", "!!binary aGk=", "&a x", "*a", "0x1F", "0o17", "2001-12-14",
              "'\\x00'", "é", "[[[[1]]]]", "{a: {b: {c: 1}}}", "- 1", "|\n  text", ">-\n  text", "? x"]
SPECIAL_BYTES = [b"\x00", b"\t", b"\r", b"\xff", b"\xc3", b"[", b"{", b"&", b"*", b"!", b"%", b"@", b"`",
                 b"\"", b"'", b":", b"-", b"#", b"\n", b" " * 7, "\u2028".encode(), b"\xef\xbb\xbf"]


class Tally:
    def __init__(self):
        self.cases = 0
        self.failures: list[str] = []
        self.first_to_import_tensorflow = None
        self.slowest: tuple[float, str] = (0.0, "")
        self.largest: tuple[int, str] = (0, "")

    def run(self, label: str, *args, expect: str | None = None, codes=(0, 2)) -> str:
        """One command in this process; fails on a traceback, another exit code, or a missing message."""
        self.cases += 1
        result = CliRunner().invoke(app, [str(arg) for arg in args], env={"COLUMNS": "400"})
        escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
        said = " ".join(result.output.split())
        if escaped or "Traceback" in result.output or result.exit_code not in codes or \
                (expect is not None and expect not in said):
            self.failures.append(f"{label}: exit {result.exit_code}: {result.exception!r} {result.output[-300:]}")
        if self.first_to_import_tensorflow is None and "tensorflow" in sys.modules:
            self.first_to_import_tensorflow = f"{label}: {said[:200]}"
        return said

    def process(self, label: str, *args, codes=(0, 2), closed: int | None = None, encoding: str = "utf-8",
                expect: str | None = None) -> None:
        """One command in a process of its own, with descriptor `closed` shut or a narrow encoding."""
        self.cases += 1
        environment = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "100"}
        done = subprocess.run([sys.executable, "-m", "nnlearn", *map(str, args)], capture_output=True,
                              env=environment, timeout=600,
                              preexec_fn=(lambda: os.close(closed)) if closed is not None else None)
        output = done.stdout + done.stderr
        plain = output.isascii() if encoding == "ascii" else True
        if b"Traceback" in output or done.returncode not in codes or not plain or \
                (expect is not None and expect.encode() not in b" ".join(output.split())):
            self.failures.append(f"{label}: exit {done.returncode}: {output[-300:]!r}")

    def bounded(self, label: str, *args, seconds: float, megabytes: float, expect: str | None = None) -> None:
        """run, within a time and a memory budget (measured with tracemalloc)."""
        tracemalloc.start()
        clock = time.perf_counter()
        self.run(label, *args, expect=expect)
        took, peak = time.perf_counter() - clock, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.slowest = max(self.slowest, (took, label))
        self.largest = max(self.largest, (peak, label))
        if took > seconds or peak > megabytes * 1024**2:
            self.failures.append(f"{label}: {took:.1f} s and {peak / 1024**2:.0f} MiB, over its budget of "
                                 f"{seconds} s and {megabytes} MiB")


def config_mutations(chance: random.Random, count: int) -> list[tuple[str, bytes]]:
    base = CONFIG.encode()
    lines = CONFIG.splitlines()
    cases = []
    for number in range(count):
        kind = number % 4
        if kind == 0:  # flip, insert or delete bytes
            data = bytearray(base)
            for _ in range(chance.randint(1, 4)):
                at = chance.randrange(len(data))
                choice = chance.random()
                if choice < 0.4:
                    data[at] ^= 1 << chance.randrange(8)
                elif choice < 0.8:
                    data[at:at] = chance.choice(SPECIAL_BYTES)
                else:
                    del data[at:at + chance.randint(1, 5)]
            cases.append((f"bytes {number}", bytes(data)))
        elif kind == 1:  # a scalar replaced by an odd value
            index = chance.choice([i for i, line in enumerate(lines) if ": " in line])
            key = lines[index].split(": ")[0]
            changed = lines[:index] + [f"{key}: {chance.choice(ODD_VALUES)}"] + lines[index + 1:]
            cases.append((f"value {number}", ("\n".join(changed) + "\n").encode()))
        elif kind == 2:  # truncated
            cases.append((f"truncated {number}", base[:chance.randrange(len(base))]))
        else:  # lines shuffled or duplicated
            changed = list(lines)
            at = chance.randrange(len(changed))
            if chance.random() < 0.5:
                changed.insert(at, changed[chance.randrange(len(changed))])
            else:
                chance.shuffle(changed)
            cases.append((f"lines {number}", ("\n".join(changed) + "\n").encode()))
    cases += [("500 nested lists", ("name: " + "[" * 500 + "]" * 500).encode()),
              ("1000 nested mappings", ("".join(" " * d + f"k{d}:\n" for d in range(1000)) + " " * 1000
                                        + "v: 1\n").encode()),
              ("billion laughs", ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
                  f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
                                  ).encode()),
              ("python tag", b"x: !!python/object/apply:os.system [ls]\n"),
              ("only a BOM", b"\xef\xbb\xbf"), ("latin-1", "name: caf\xe9\n".encode("latin-1")),
              ("a list", b"- data: iris\n"), ("a number", b"42\n"), ("empty", b"")]
    return cases


def csv_cases() -> list[tuple[str, str]]:
    good = "a,b,label\n" + "".join(f"{i % 7},{i % 5},{i % 3}\n" for i in range(40))
    return [("empty cell", good.replace("3,", ",", 1)), ("empty label", good.replace(",2\n", ",\n", 1)),
            ("text", good.replace("4,", "x,", 1)), ("nan", good.replace("4,", "nan,", 1)),
            ("inf", good.replace("4,", "inf,", 1)), ("short row", good + "1,2\n"), ("long row", good + "1,2,3,4\n"),
            ("header only", "a,b,label\n"), ("empty", ""), ("one row", "a,b,label\n1,2,0\n"),
            ("BOM", "\ufeff" + good), ("quote", good + '"1,2,0\n'), ("NUL", good + "1,\x00,0\n"),
            ("huge number", good.replace("4,", "1e999,", 1)), ("no label column", good.replace("label", "lbl")),
            ("unicode", good.replace("a,b", "α,β")), ("one class", "a,b,label\n" + "1,2,0\n" * 20)]


def npz_cases(folder: Path) -> list[tuple[str, Path]]:
    made = []
    arrays = {"0-d x": dict(x=np.array(5.0), y=np.array([1])), "empty": dict(x=np.zeros((0, 3)), y=np.zeros(0)),
              "empty y": dict(x=np.ones((5, 2)), y=np.zeros(0)), "2-D text y": dict(x=np.ones((4, 2)),
                                                                                      y=np.array([["a", "b"]] * 4)),
              "3-D y": dict(x=np.ones((4, 2)), y=np.ones((4, 2, 2))),
              "complex": dict(x=np.ones((4, 2)) * 1j, y=np.arange(4)),
              "bool x": dict(x=np.ones((4, 2), bool), y=np.arange(4)), "no y": dict(x=np.ones((4, 2))),
              "text x": dict(x=np.array([["a"]] * 4), y=np.arange(4)), "nan x": dict(x=np.full((9, 2), np.nan),
                                                                                   y=np.arange(9) % 3),
              "rows differ": dict(x=np.ones((4, 2)), y=np.arange(5)), "0-d y": dict(x=np.ones((4, 2)), y=np.array(1)),
              "y columns 0": dict(x=np.ones((4, 2)), y=np.zeros((4, 0))),
              "x features 0": dict(x=np.ones((4, 0)), y=np.arange(4))}
    for name, content in arrays.items():
        path = folder / f"{name.replace(' ', '_')}.npz"
        np.savez(path, **content)
        made.append((name, path))
    raw = {"corrupt zip": b"PK\x03\x04" + b"\x00junk" * 30, "not a zip": b"hello", "zero bytes": b""}
    for name, content in raw.items():
        path = folder / f"{name.replace(' ', '_')}.npz"
        path.write_bytes(content)
        made.append((name, path))
    pickled = folder / "object.npz"
    np.savez(pickled, x=np.array([[1], [2]], dtype=object), y=np.arange(2))
    made.append(("object array", pickled))
    return made


def stopped_run(folder: Path, name: str) -> Path:
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs.checkpoint import save_checkpoint
    from nnlearn.training.train import start_run_dir

    from nnlearn.runs import lock

    config = folder / "config.yaml"
    prepared = prepare(load_config(config), folder)
    with lock.held():  # let go once made, as a command does when it ends
        run_dir = start_run_dir(prepared, folder / "runs" / name).path
        save_checkpoint(RunDir.open(run_dir), {"model_0": np.zeros((4, 8), np.float32)}, [{"loss": 1.0}])
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "status": "interrupted", "epochs": 1}))
    (run_dir / "model.keras").write_bytes(b"never loaded: these cases fail first")
    return run_dir


def damage(path: Path, kind: str, chance: random.Random) -> None:
    data = path.read_bytes() if path.is_file() else b""
    if kind in ("folder", "pipe", "deleted"):
        path.unlink()
        if kind == "folder":
            path.mkdir()
        elif kind == "pipe":
            os.mkfifo(path)
        return
    if kind == "bit flip" and data:
        changed = bytearray(data)
        changed[chance.randrange(len(changed))] ^= 1 << chance.randrange(8)
        data = bytes(changed)
    path.write_bytes({"zero bytes": b"", "truncated": data[:len(data) // 2], "garbage": b"\x00\xffgarbage",
                      "JSON list": b"[1, 2]", "JSON null": b"null", "bit flip": data}[kind])


COMMANDS = {  # for the process sections: arguments, exit code (CONFIG, RUN are replaced)
    "validate": (["validate", "CONFIG"], 0), "explain": (["explain", "CONFIG"], 0), "runs": (["runs", "runs"], 0),
    "diagnose": (["diagnose", "RUN"], 0), "config show": (["config", "show", "CONFIG"], 0),
    "help": (["train", "--help"], 0), "lesson list": (["lesson"], 0), "an error": (["validate", "missing.yaml"], 2),
    "predict a bad input": (["predict", "RUN", "--input", "missing.csv"], 2),
    "train": (["train", "CONFIG", "--no-plots", "--set", "fit.epochs=1"], 0),
}


def _arguments(arguments: list[str], folder: Path, run: Path) -> list[str]:
    return [str(folder / "config.yaml") if item == "CONFIG" else str(run) if item == "RUN" else item
            for item in arguments]


def output_streams(tally: Tally, folder: Path, run: Path) -> None:
    """Every command with stdout closed, then stderr closed: its own exit code, never a traceback."""
    for name, (arguments, code) in COMMANDS.items():
        for closed in (1, 2):
            tally.process(f"{name} with descriptor {closed} closed", *_arguments(arguments, folder, run),
                          codes=(code,), closed=closed)


def narrow_encodings(tally: Tally, folder: Path, run: Path) -> None:
    """Every command to an ascii and a latin-1 terminal: plain characters, never an encoding error."""
    for name, (arguments, code) in COMMANDS.items():
        for encoding in ("ascii", "latin-1"):
            tally.process(f"{name} in {encoding}", *_arguments(arguments, folder, run), codes=(code,),
                          encoding=encoding)


HOLDER = "import sys, time\nfrom nnlearn.runs.lock import take\ntake(sys.argv[1])\nprint('held', flush=True)\n" \
         "time.sleep(600)\n"


def concurrent_commands(tally: Tally, folder: Path) -> None:
    """A process holds a run (and a sweep): every writer is refused at once naming it; readers go on."""
    from nnlearn.runs import lock
    from nnlearn.workflows.sweep import start_sweep

    run = stopped_run(folder, "held")
    with lock.held():
        sweep, _ = start_sweep(folder / "config.yaml", [], ["fit.epochs=1,2"], 1, out=folder / "held-sweep")
    for held in (run, sweep.sweep_dir):
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(held)], stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        busy = f"is being written by process {holder.pid}"
        if held == run:
            for command in (["train", "--resume"], ["plot"], ["report"]):
                tally.run(f"{command[0]} while another process writes", *command, run, "--no-plots"
                          if command[0] == "train" else "--json", expect=busy, codes=(2,))
            for command in (["runs", folder / "runs"], ["diagnose", run], ["compare", run, run], ["eval", run]):
                said = tally.run(f"{command[0]} while another process writes", *command)
                if busy in said:
                    tally.failures.append(f"{command[0]} waited for a writer: a reader must not")
        else:
            tally.run("sweep --resume while another process continues it", "sweep", "--resume", held, expect=busy,
                      codes=(2,))
            tally.run("report of a sweep another process writes", "report", held, expect=busy, codes=(2,))
        holder.kill()
        holder.wait()


def image_folder(folder: Path) -> Path:
    from PIL import Image

    for label, level in (("bright", 200), ("dark", 40)):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for number in range(4):
            Image.fromarray(np.full((10, 12, 3), level, np.uint8), "RGB").save(folder / label / f"{number}.png")
    return folder


IMAGES = """\
name: pics
data: {source: pics, image_size: [8, 8], color: grayscale, validation_split: 0}
model:
  layers:
    - {type: dense, units: 2}
compile: {loss: sparse_categorical_crossentropy}
"""


def sizes(tally: Tally, folder: Path) -> None:
    """Decompression and combinatorial sizes: refused from what is counted before anything is built."""
    (folder / "images.yaml").write_text(IMAGES)
    for width, height in ((20_000, 20_000), (100_000, 100_000), (2**31 - 1, 2**31 - 1), (1, 60_000_000)):
        shutil.rmtree(folder / "pics", ignore_errors=True)
        image_folder(folder / "pics")
        (folder / "pics" / "dark" / "huge.png").write_bytes(png_claiming(width, height))
        tally.bounded(f"a PNG claiming {width} x {height} pixels", "validate", folder / "images.yaml", seconds=20,
                      megabytes=200, expect="pixels")
    shutil.rmtree(folder / "pics", ignore_errors=True)
    image_folder(folder / "pics")
    tally.bounded("an image folder resized to 30000 x 30000", "validate", folder / "images.yaml", "--set",
                  "data.image_size=[30000, 30000]", seconds=20, megabytes=200, expect="of memory")
    for rows, categories in ((12_000, 12_000), (200, 190), (30_000, 1_500), (50_000, 50_000)):
        (folder / "ids.csv").write_text("id,size,label\n" + "".join(f"u{row % categories},{row % 7},{row % 2}\n"
                                                                     for row in range(rows)))
        tally.bounded(f"one-hot of {categories} categories in {rows} rows", "validate", folder / "config.yaml",
                      "--set", "data.source=ids.csv", "--set", "data.target=label", "--set", "data.text=one_hot",
                      seconds=30, megabytes=300, expect="data: {ignore: [id]}")
    for arguments, said in ((["--seeds", "100000000"], "--seeds must be 1 to 100"),
                            (["--grid", "model.layers[0].units=" + ",".join(map(str, range(1, 201))), "--seeds",
                              "100"], "a sweep trains at most 10,000"),
                            (["--grid", "model.layers[0].units=" + ",".join(map(str, range(1, 101)))],
                             "add --yes")):
        tally.bounded(f"sweep {' '.join(arguments)[:40]}", "sweep", folder / "config.yaml", "--grid",
                      "fit.epochs=1,2", *arguments, seconds=30, megabytes=300, expect=said)


def duplicate_names(tally: Tally, folder: Path, run: Path) -> None:
    """A column named twice or not at all: refused with the column numbers by every reader."""
    headers = {"a,b,a,label": "'a' twice (columns 1 and 3)", " a ,b,a,label": "'a' twice (columns 1 and 3)",
               "a,,b,label": "column 2 of 4 has no name", "a,b,label,": "column 4 of 4 has no name",
               "\ufeffa,b,a,label": "'a' twice", "label,a,label": "'label' twice (columns 1 and 3)"}
    for header, said in headers.items():
        width = len(header.split(","))
        (folder / "named.csv").write_text(header + "\n" + "".join(
            ",".join(str((row + column) % 3) for column in range(width)) + "\n" for row in range(40)))
        for reader in (["--set", "data.stream=false"], ["--set", "data.stream=true"]):
            tally.run(f"header {header!r} ({reader[-1]})", "validate", folder / "config.yaml", "--set",
                      "data.source=named.csv", "--set", "data.target=label", *reader, expect=said, codes=(2,))
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    for repeated in features:
        (folder / "input.csv").write_text(",".join(features + [repeated]) + "\n5,3,1,0.2,4\n")
        tally.run(f"predict --input naming {repeated!r} twice", "predict", run, "--input", folder / "input.csv",
                  expect="twice", codes=(2,))


def quadratic_inputs(tally: Tally, folder: Path, run: Path) -> None:
    """Inputs whose size once grew the work with its square: each within a time and memory budget."""
    rows = ["a,b,label"] + [f"{row % 5},{row % 3},{row % 2}" for row in range(20_000)]
    for at in range(1, 20_000, 2_000):
        rows[at] = "0." + "9" * 100_000 + ",1,0"  # ten cells of 100 KB: a fixed-width array would take 80 GB
    (folder / "long.csv").write_text("\n".join(rows) + "\n")
    tally.bounded("ten 100 KB cells among 20,000 rows", "validate", folder / "config.yaml", "--set",
                  "data.source=long.csv", "--set", "data.target=label", seconds=30, megabytes=400)
    (folder / "cities.csv").write_text("city,size,label\n" + "".join(f"c{row % 900},{row % 7},{row % 2}\n"
                                                                     for row in range(20_000)))
    tally.bounded("one-hot of 900 categories in 20,000 rows", "validate", folder / "config.yaml", "--set",
                  "data.source=cities.csv", "--set", "data.target=label", "--set", "data.text=one_hot", seconds=30,
                  megabytes=1000)
    history = RunDir(run)
    from nnlearn.runs import lock

    with lock.held():
        history.write_history([{"epoch": float(epoch), "loss": 1 / epoch, "val_loss": 1.1 / epoch}
                               for epoch in range(1, 100_001)])
    tally.bounded("diagnose after 100,000 epochs", "diagnose", run, seconds=20, megabytes=500)
    # 200 combinations, every one checked by the schema, then refused (no validation split) before training
    tally.bounded("a grid of 200 combinations checked", "sweep", folder / "config.yaml", "--grid",
                  "model.layers[0].units=" + ",".join(map(str, range(1, 101))), "--grid", "fit.epochs=1,2",
                  "--set", "data.validation_split=0", "--yes", seconds=60, megabytes=300,
                  expect="data.validation_split is 0")


def classes_beyond_files(tally: Tally, folder: Path, predicting: Path) -> dict[str, int]:
    """The classes beyond hostile files: each section's number of cases."""
    diagnosed = stopped_run(folder, "diagnosed")
    sections = {"output streams closed": lambda: output_streams(tally, folder, diagnosed),
                "narrow encodings": lambda: narrow_encodings(tally, folder, diagnosed),
                "concurrent commands": lambda: concurrent_commands(tally, folder),
                "decompression and combinatorial sizes": lambda: sizes(tally, folder),
                "duplicate names": lambda: duplicate_names(tally, folder, predicting),
                "quadratic inputs": lambda: quadratic_inputs(tally, folder, stopped_run(folder, "long-history"))}
    counts = {}
    for name, section in sections.items():
        start = tally.cases
        section()
        counts[name] = tally.cases - start
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    chance = random.Random(options.seed)
    folder = Path(tempfile.mkdtemp(prefix="nnlearn-hostile-"))
    os.chdir(folder)
    (folder / "config.yaml").write_text(CONFIG)
    tally, counts = Tally(), {}

    start = tally.cases
    for label, content in config_mutations(chance, options.mutations):
        path = folder / "mutated.yaml"
        path.write_bytes(content)
        for command in ("validate", "explain"):
            tally.run(f"config {label} ({command})", command, path)
    counts["configs"] = tally.cases - start

    start = tally.cases
    for label, content in csv_cases():
        (folder / "table.csv").write_text(content)
        tally.run(f"csv {label}", "validate", folder / "config.yaml", "--set", "data.source=table.csv",
                  "--set", "data.target=label")
    for label, path in npz_cases(folder):
        tally.run(f"npz {label}", "validate", folder / "config.yaml", "--set", f"data.source={path.name}")
    predicting = stopped_run(folder, "predicting")
    for label, path in npz_cases(folder):
        tally.run(f"predict npz {label}", "predict", predicting, "--input", path)
    for label, content in csv_cases():
        path = folder / "input.csv"
        path.write_text(content.replace("label", "sepal length (cm)"))
        tally.run(f"predict csv {label}", "predict", predicting, "--input", path)
    counts["data files"] = tally.cases - start

    start = tally.cases
    files = ["config.yaml", "run.json", "preprocessing.json", "checkpoint/checkpoint.npz"]
    kinds = ["zero bytes", "truncated", "bit flip", "garbage", "JSON list", "JSON null", "folder", "pipe", "deleted"]
    cases = [(name, kind) for name in files for kind in kinds for _ in range(10 if kind == "bit flip" else 1)]
    for number, (name, kind) in enumerate(cases):
        run_dir = stopped_run(folder, f"damaged-{number}")
        damage(run_dir / name, kind, chance)
        tally.run(f"run {name} {kind} (resume)", "train", "--resume", run_dir, "--no-plots")
        tally.run(f"run {name} {kind} (runs)", "runs", folder / "runs")
    counts["damaged runs"] = tally.cases - start

    start = tally.cases
    os.symlink("loop-b", folder / "loop-a")
    os.symlink("loop-a", folder / "loop-b")
    os.mkfifo(folder / "pipe")
    (folder / "a-folder.csv").mkdir()
    paths = ["a" * 300, "loop-a", "pipe", "/dev/zero", "a-folder.csv", "~nosuchuser_nnlearn/x", "/", "",
             "missing"]
    for path in paths:
        for suffix in ("", ".csv", ".npz", ".yaml"):
            name = path + suffix if path not in ("/", "", "/dev/zero") else path
            tally.run(f"path {name[:20]!r} (validate config)", "validate", name)
            tally.run(f"path {name[:20]!r} (data)", "validate", folder / "config.yaml", "--set",
                      f"data.source={name}", "--set", "data.target=label")
            tally.run(f"path {name[:20]!r} (--input)", "predict", predicting, "--input", name)
        for command in (["train", "--resume"], ["eval"], ["runs"], ["report"], ["plot"], ["compare", path]):
            tally.run(f"path {path[:20]!r} ({command[0]})", *command, path)
    counts["paths"] = tally.cases - start

    counts.update(classes_beyond_files(tally, folder, predicting))

    shutil.rmtree(folder, ignore_errors=True)
    for failure in tally.failures:
        print(failure)
    print(f"{tally.cases} hostile cases ({', '.join(f'{count} {name}' for name, count in counts.items())}); "
          f"{len(tally.failures)} tracebacks or unexpected exits.")
    print(f"slowest of the budgeted cases: {tally.slowest[1]} ({tally.slowest[0]:.1f} s); most memory: "
          f"{tally.largest[1]} ({tally.largest[0] / 1024**2:.0f} MiB traced).")
    if tally.first_to_import_tensorflow:
        print(f"note: the first case to import TensorFlow: {tally.first_to_import_tensorflow}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
