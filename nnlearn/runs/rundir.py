"""Run directories: created exclusively, every file written atomically, read back safely."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from nnlearn.config.loading import load_config
from nnlearn.errors import RunError
from nnlearn.files import UnreadableFile, read_bounded
from nnlearn.jsonout import json_text, numbers_back
from nnlearn.model.saved_model import load_saved_model
from nnlearn.runs import lock
from nnlearn.runs.record import preprocessing_problem, with_status

RUNS_ROOT = Path("runs")
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
BATCH_LOSSES_FILE = "batch_losses.csv"
METRICS_FILE = "metrics.json"
PREPROCESSING_FILE = "preprocessing.json"
RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoint"
TENSORBOARD_DIR = "tensorboard"
MAX_JSON_BYTES = 64 * 1024**2
SPLITS = ("train", "validation", "test")  # the splits metrics.json measures, in order


def create_run_dir(name: str, out: str | Path | None = None, root: Path = RUNS_ROOT,
                   files: dict[str, str | bytes] | None = None) -> Path:
    """A new run directory holding files ({name: content}); never reuses an existing one (two runs
    in one second get two).

    With files, the folder is filled under a hidden temporary name and then renamed into place, so a
    run folder appears with all its starting files or not at all, even if the process is killed.
    """
    if out is not None:
        path = Path(out)
        if path.exists():
            raise RunError(f"{path} already exists; nnlearn never overwrites a run.",
                           hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
        parent, candidates = path.parent, [path]
    else:
        parent, candidates = root, _candidates(name, root)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        made = _publish(candidates, files) if files else _make_empty(candidates)
    except OSError as error:
        raise RunError(f"cannot create a run folder in {parent}: {error.strerror or error}.",
                       hint="run nnlearn where you may write, or give --out DIR.") from None
    if made is None:
        if out is not None:
            raise RunError(f"{out} already exists; nnlearn never overwrites a run.",
                           hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
        raise RunError(f"could not create a new run directory under {root}.")
    return made


def _candidates(name: str, root: Path) -> list[Path]:
    """root/NAME-TIME, then root/NAME-TIME-2, -3, ...: the names a new run may take."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return [root / (f"{name}-{stamp}" if attempt == 1 else f"{name}-{stamp}-{attempt}") for attempt in range(1, 1000)]


def free_run_path(name: str, root: Path = RUNS_ROOT) -> Path:
    """The name a new run would take now (for a launcher that hands it to its workers)."""
    return next(path for path in _candidates(name, root) if not path.exists())


def _make_empty(candidates: list[Path]) -> Path | None:
    for path in candidates:
        try:
            path.mkdir()  # atomic: exactly one process wins each name
            return path
        except FileExistsError:
            continue
    return None


def _publish(candidates: list[Path], files: dict[str, str | bytes]) -> Path | None:
    """Write files into a hidden folder beside the candidates, then rename it to the first free name.

    The folder is never empty, so the rename cannot replace another run's folder: it fails instead.
    """
    staging = Path(tempfile.mkdtemp(dir=candidates[0].parent, prefix=f".{candidates[0].name}.starting-"))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for file_name, content in files.items():
            write_atomic(staging / file_name, content)
        lock.take(staging)  # the run appears already locked: no other command can take it first
        for path in candidates:
            if path.exists():
                continue
            try:
                os.rename(staging, path)
                lock.moved(staging, path)
                return path
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                    raise
        return None
    finally:
        if staging.exists():
            lock.release(staging)
            shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never half a file.

    The file gets the usual permissions (0666 less the umask), like any other tool's output. An
    OSError names path, the file the user asked for, not the temporary one.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    """value as strict JSON (non-finite numbers as "nan", "inf", "-inf": see jsonout), atomically."""
    write_atomic(path, json_text(value, indent=2) + "\n")


def read_json(run_dir: Path, name: str) -> dict:
    """A run file holding a JSON object; RunError if it is missing or damaged."""
    path = run_dir / name
    if not path.exists():
        raise RunError(f"{run_dir} has no {name}; it is not a finished nnlearn run.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")
    fix = f"{name} is written by `nnlearn train`: restore it, or train the config again as a new run."
    try:
        value = json.loads(read_bounded(path, MAX_JSON_BYTES, fix).decode("utf-8"))
    except UnreadableFile as error:
        raise RunError(error.message, hint=error.hint) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is damaged: {error}.", hint=fix) from None
    if not isinstance(value, dict):
        raise RunError(f"{path} is damaged: it holds a JSON {type(value).__name__}, not an object "
                       "({...}).", hint=fix)
    return value


def _read_history(run_dir: Path, name: str = HISTORY_FILE) -> list[dict[str, float]]:
    """history.csv (or another CSV of numbers the run wrote) as rows of numbers (empty before the first
    epoch); RunError if it is damaged."""
    import csv
    import io

    path = run_dir / name
    if not path.is_file():
        return []
    fix = (f"{name} is written by `nnlearn train`: restore it, or train the config again as a new run: "
           f"nnlearn train --from {run_dir}")
    try:
        reader = csv.reader(io.StringIO(read_bounded(path, MAX_JSON_BYTES, fix).decode("utf-8")))
        header = next(reader, [])
        rows = []
        for cells in reader:
            if not cells:
                continue
            rows.append(_history_row(header, cells, f"{path}, line {reader.line_num}", fix))
        return rows
    except UnreadableFile as error:
        raise RunError(error.message, hint=error.hint) from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"{path} is damaged: it is not readable CSV text ({error}).", hint=fix) from None


def _history_row(header: list[str], cells: list[str], where: str, fix: str) -> dict[str, float]:
    """One epoch's row of history.csv as numbers; RunError naming the line and what is wrong with it."""
    if len(cells) != len(header):
        what = (f"has only {len(cells)} of its {len(header)} values ({', '.join(header)}): the file was cut "
                "short or edited" if len(cells) < len(header) else
                f"has {len(cells)} values where the header names {len(header)} ({', '.join(header)})")
        raise RunError(f"{where} {what}.", hint=fix)
    row = {}
    for name, cell in zip(header, cells):
        try:
            row[name] = float(cell)
        except ValueError:
            raise RunError(f"{where}: {name} is {cell!r}, not a number.", hint=fix) from None
    return row


def _check_run_dir(run_dir: Path) -> None:
    if not run_dir.exists():
        raise RunError(f"there is no run directory {run_dir}.",
                       hint="list your runs with `nnlearn runs`; give the folder `nnlearn train` printed.")
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run directory.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")
    if not (run_dir / CONFIG_FILE).exists():
        raise RunError(f"{run_dir} has no {CONFIG_FILE}; it is not an nnlearn run.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")


class RunDir:
    """One run directory, and the only code that knows its layout: every read and write of a run's
    files goes through it (writes atomically; reads bounded, with a RunError naming a damaged file).

        config.yaml                 the resolved config, versions in its header comment
        preprocessing.json          normaliser, input shape, feature and class names, data file and hash
        run.json                    status, pid, versions, the fingerprint a resume checks
        history.csv                 one row per finished epoch
        batch_losses.csv            a run whose loss became NaN in its first epoch: each batch's loss until then
        checkpoint/checkpoint.npz   the latest complete epoch (its format: checkpoint.py)
        snapshots.npz               weights at a few epochs (its format: snapshots.py)
        model.keras                 the trained model
        metrics.json                each split's metrics, the baseline, the expectations
        plots/                      PNGs and inside.json; report.html beside them
        tensorboard/                TensorBoard's logs, when fit.tensorboard is on
        .lock                       held by the process writing the run (see nnlearn.runs.lock)

    Every write takes the folder's lock first: a second process writing the same run is refused.
    """

    MODEL = MODEL_FILE
    SNAPSHOTS = "snapshots.npz"
    PLOTS = "plots"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def start(cls, name: str, out: str | Path | None, config_text: str, preprocessing: dict,
              record: dict) -> RunDir:
        """A new run directory that appears with its config, preprocessing and run.json, or not at all."""
        run = cls(create_run_dir(name, out, files={
            CONFIG_FILE: config_text, PREPROCESSING_FILE: json_text(preprocessing, indent=2) + "\n",
            RUN_FILE: json_text(record, indent=2) + "\n"}))
        run.take()
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory (one holding a config.yaml); RunError naming what is wrong."""
        run = cls(path)
        _check_run_dir(run.path)
        return run

    def take(self) -> None:
        """Hold the run's lock (nnlearn.runs.lock) for the rest of the command; RunError naming the process
        that holds it when another one does."""
        lock.take(self.path)

    # where each file lives, for messages and for the modules that own a file's format
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def preprocessing_file(self) -> Path:
        return self.path / PREPROCESSING_FILE

    @property
    def record_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def checkpoint_file(self) -> Path:
        return self.path / CHECKPOINT_DIR / "checkpoint.npz"

    @property
    def snapshots_file(self) -> Path:
        return self.path / self.SNAPSHOTS

    @property
    def plots_dir(self) -> Path:
        return self.path / self.PLOTS

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / TENSORBOARD_DIR

    def plot_file(self, name: str) -> Path:
        return self.plots_dir / name

    # the config
    def config(self, overrides: list[str] | tuple = ()):
        """config.yaml as a validated Config (with KEY=VALUE overrides); ConfigError if it was edited wrongly."""
        return load_config(self.config_file, overrides)

    def config_text(self) -> str:
        fix = f"{CONFIG_FILE} is written by `nnlearn train`: restore it, or train the config again."
        try:
            return read_bounded(self.config_file, MAX_JSON_BYTES, fix).decode("utf-8", errors="replace")
        except UnreadableFile as error:
            raise RunError(error.message, hint=error.hint) from None

    def config_mapping(self) -> dict:
        """config.yaml as plain data, {} when it is missing or unreadable (for listings: never fails)."""
        try:
            value = yaml.safe_load(read_bounded(self.config_file, MAX_JSON_BYTES, "").decode("utf-8"))
        except (UnreadableFile, ValueError, yaml.YAMLError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}

    # run.json, preprocessing.json, metrics.json
    def has_record(self) -> bool:
        return self.record_file.is_file()

    def record(self, strict: bool = True) -> dict:
        """run.json (what it holds: nnlearn.runs.record); strict=False gives {} for a missing or damaged one."""
        return read_json(self.path, RUN_FILE) if strict else self._lenient_json(RUN_FILE)

    def write_record(self, record: dict) -> None:
        self.take()
        write_json(self.record_file, record)

    def record_status(self, status: str, epochs: int, versions: dict | None = None,
                      early_stopping: dict | None = None, failure: dict | None = None) -> None:
        """run.json's status now, keeping what else it records (the fingerprint, when the run started); a
        finished run that early stopping ended also records how (`early_stopping`), a failed one why
        (`failure`)."""
        try:
            record = self.record()
        except RunError:
            record = {}
        record = with_status(record, status, epochs, versions)
        for key, value in (("early_stopping", early_stopping), ("failure", failure)):
            record.pop(key, None)
            if value is not None:
                record[key] = value
        self.write_record(record)

    def record_distribution(self, distribution: dict) -> None:
        """run.json says how a data-parallel run was spread: strategy, replicas, workers, batch shares."""
        record = self.record()
        record["distribute"] = distribution
        self.write_record(record)

    def preprocessing(self) -> dict:
        """preprocessing.json, checked whole (what it holds: nnlearn.runs.record). Raises RunError."""
        state = read_json(self.path, PREPROCESSING_FILE)
        problem = preprocessing_problem(state)
        if problem:
            raise RunError(f"{self.preprocessing_file} is damaged: {problem}",
                           hint=f"it is written by `nnlearn train` and must not be edited: restore it, or train "
                                f"again as a new run: nnlearn train {self.config_file} --out NEW_DIR")
        return state

    def is_finished(self) -> bool:
        """Whether training saved its model (so it can be evaluated, plotted and used to predict)."""
        return self.model_file.is_file()

    def metrics(self, strict: bool = True) -> dict:
        """metrics.json with its numbers as floats ("nan" read back as NaN); {} for a run that never
        finished (strict=False: also for a damaged one)."""
        if not (self.path / METRICS_FILE).is_file():
            return {}
        return numbers_back(read_json(self.path, METRICS_FILE) if strict else self._lenient_json(METRICS_FILE))

    def write_metrics(self, metrics: dict) -> None:
        self.take()
        write_json(self.path / METRICS_FILE, metrics)

    def _lenient_json(self, name: str) -> dict:
        try:
            value = json.loads(read_bounded(self.path / name, MAX_JSON_BYTES, "").decode("utf-8"))
        except (UnreadableFile, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    # history.csv
    def has_history(self) -> bool:
        return (self.path / HISTORY_FILE).is_file()

    def history(self) -> list[dict[str, float]]:
        """history.csv as rows of numbers (empty before the first epoch); RunError if it is damaged."""
        return _read_history(self.path)

    def write_history(self, rows: list[dict[str, float]]) -> None:
        self.take()
        write_atomic(self.path / HISTORY_FILE, history_csv(rows))

    def batch_losses(self) -> list[float]:
        """The loss of each batch of a first epoch that ended in NaN, up to that batch (empty when there is none)."""
        return [row["loss"] for row in _read_history(self.path, BATCH_LOSSES_FILE) if "loss" in row]

    def write_batch_losses(self, losses: list[float]) -> None:
        self.take()
        rows = [{"batch": number, "loss": float(loss)} for number, loss in enumerate(losses, start=1)]
        write_atomic(self.path / BATCH_LOSSES_FILE, history_csv(rows))

    def failure(self) -> dict:
        """run.json's record of why a failed run stopped ({"reason": "nan", "epoch": E, "batch": B}), else {}."""
        failure = self.record(strict=False).get("failure") if self.has_record() else None
        return failure if isinstance(failure, dict) else {}

    # the model, checkpoint and snapshots
    def load_model(self):
        """model.keras, checked and loaded in Keras' safe mode (imports TensorFlow); RunError if the run
        did not finish or the file is not a safe Keras model."""
        self.check_finished()
        return load_saved_model(self.model_file)

    def check_finished(self) -> None:
        """RunError unless training saved the model: a run that did not finish is resumed; a finished
        run whose model file is gone (deleted or moved) is trained again (see missing_model)."""
        status = self.record(strict=False).get("status")
        if status == "finished" and not self.is_finished():
            raise self.missing_model()
        if status == "failed":  # resuming would fail the same way: its last good epoch leads to the same steps
            raise RunError(f"{self.path} failed (its loss became NaN or infinite), so it has no {MODEL_FILE}.",
                           hint=f"see why and what to change: nnlearn diagnose {self.path}")
        if not self.is_finished():
            raise RunError(f"{self.path} has no {MODEL_FILE}: the run did not finish.",
                           hint=f"resume it with `nnlearn train --resume {self.path}`, or train it again.")

    def missing_model(self) -> RunError:
        """The error for a run that finished but whose model.keras is missing: it cannot be resumed
        (it finished), so the way out is a new run, from its last checkpoint's weights when it has one."""
        fresh = f"nnlearn train --from {self.path}"
        hint = (f"start a new run from its last checkpoint's weights: {fresh} --weights; or train it again: "
                f"{fresh}" if self.checkpoint_file.is_file() else f"train it again as a new run: {fresh}")
        return RunError(f"{self.path} finished training, but its model file {MODEL_FILE} is missing (deleted or "
                        "moved), so there is no model to use.", hint=hint)

    def save_model(self, model) -> None:
        """model.keras, written beside under a temporary name and renamed: never half a model."""
        self.take()
        temporary = self.path / f".{Path(MODEL_FILE).stem}.tmp.keras"
        try:
            model.save(temporary)
            temporary.replace(self.model_file)
        except OSError as error:  # name the model file, not the temporary one (or none: a full disk in Keras)
            raise OSError(error.errno, error.strerror or str(error), str(self.model_file)) from None
        finally:
            temporary.unlink(missing_ok=True)

    def write_checkpoint(self, content: bytes) -> None:
        self.take()
        self.checkpoint_file.parent.mkdir(exist_ok=True)
        write_atomic(self.checkpoint_file, content)

    def write_snapshots(self, content: bytes) -> None:
        self.take()
        write_atomic(self.snapshots_file, content)

    # pictures and pages made from the run
    def write_plot(self, name: str, content: str | bytes) -> Path:
        self.take()
        self.plots_dir.mkdir(exist_ok=True)
        write_atomic(self.plot_file(name), content)
        return self.plot_file(name)

    def plot_files(self) -> list[Path]:
        """The PNGs in plots/, by name."""
        return sorted(self.plots_dir.glob("*.png")) if self.plots_dir.is_dir() else []

    def read_plot(self, name: str) -> bytes | None:
        """A file in plots/ (a PNG, inside.json); None when it is missing or unreadable."""
        try:
            return read_bounded(self.plot_file(name), MAX_JSON_BYTES, "")
        except UnreadableFile:
            return None

    def copy(self, to: Path) -> RunDir:
        """A copy of the whole run directory at to (a worker resumes from a copy of the chief's)."""
        shutil.copytree(self.path, to)
        return RunDir(to)

    def write_page(self, name: str, content: str) -> Path:
        """A page made from the run's own files (report.html), written into the run directory."""
        self.take()
        write_atomic(self.path / name, content)
        return self.path / name


def history_csv(rows: list[dict[str, float]]) -> str:
    """Rows as CSV text, floats written exactly (repr), so reading them back gives the same numbers."""
    import csv
    import io
    import math

    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) and not math.isnan(v) else v)
                             for k, v in row.items()})
    return buffer.getvalue()
