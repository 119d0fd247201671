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
A case passes when the command exits 0 or 2 without a traceback (exit 0 for a mutation that happens
to stay valid). Exit 1 if any case fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from nnlearn.cli.app import app
from nnlearn.runs.rundir import RunDir

CONFIG = """\
name: tiny
seed: 0
data:
  source: iris
  test_split: 0.2
  validation_split: 0.1
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 3, activation: linear}
compile:
  loss: sparse_categorical_crossentropy
  from_logits: true
  optimizer: {type: adam, learning_rate: 0.05}
fit:
  epochs: 3
  batch_size: 32
"""
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

    def run(self, label: str, *args) -> None:
        self.cases += 1
        result = CliRunner().invoke(app, [str(arg) for arg in args])
        escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
        if escaped or "Traceback" in result.output or result.exit_code not in (0, 2):
            self.failures.append(f"{label}: exit {result.exit_code}: {result.exception!r} {result.output[-300:]}")
        if self.first_to_import_tensorflow is None and "tensorflow" in sys.modules:
            self.first_to_import_tensorflow = f"{label}: {' '.join(result.output.split())[:200]}"


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

    config = folder / "config.yaml"
    prepared = prepare(load_config(config), folder)
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

    shutil.rmtree(folder, ignore_errors=True)
    for failure in tally.failures:
        print(failure)
    print(f"{tally.cases} hostile cases ({', '.join(f'{count} {name}' for name, count in counts.items())}); "
          f"{len(tally.failures)} tracebacks or unexpected exits.")
    if tally.first_to_import_tensorflow:
        print(f"note: the first case to import TensorFlow: {tally.first_to_import_tensorflow}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
