"""`nnlearn watch`: train a config, then retrain it every time the file is saved, in one process.

TensorFlow is imported once, by the first run; each later run costs only its own training. Each run
is a normal run directory (so `runs`, `compare` and `report` work on it), and is shown beside the
previous one: what changed in the config and how each test metric moved.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from nnlearn.config.differences import changes as config_changes
from nnlearn.config.loading import load_config
from nnlearn.errors import NnlearnError
from nnlearn.insight.diagnose import diagnose_run
from nnlearn.runs import lock
from nnlearn.runs.rundir import RunDir
from nnlearn.training.train import train_config

POLL_SECONDS = 0.1  # how often the file is looked at: cheap (one stat), quick enough to feel instant
SETTLE_SECONDS = 0.15  # a save is trained once the file stayed the same this long: an editor may write in steps
BURST_SECONDS = 0.5  # a file that changed again meanwhile (autosave, quick clicks) must stay the same this long


@dataclass
class Retrained:
    """One completed run of the watched config, compared with the run before it."""

    run: object  # nnlearn.training.train.Run
    seconds: float  # from the file's change (or the start of watching) to the metrics
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # (key, before, after)
    previous: object | None = None  # the previous Run, None for the first
    after_save: bool = True  # False for the run watching starts with: seconds count from the start
    diagnosis: list = field(default_factory=list)  # the run's verdict (diagnose), as train shows it

    def deltas(self) -> dict[str, float]:
        """Each test metric minus the previous run's (empty for the first run)."""
        if self.previous is None:
            return {}
        before, after = self.previous.metrics.get("test") or {}, self.run.metrics.get("test") or {}
        return {name: after[name] - before[name] for name in after if name in before}

    def to_json(self) -> dict:
        return {**self.run.to_json(), "seconds": round(self.seconds, 3),
                "training_seconds": round(self.run.seconds, 3),
                "previous_run_dir": str(self.previous.run_dir) if self.previous else None,
                "changes": [{"key": key, "before": before, "after": after}
                            for key, before, after in self.changes],
                "deltas": {"test": self.deltas()}, "diagnosis": [verdict.to_json() for verdict in self.diagnosis]}


def _signature(path: Path) -> tuple | None:
    """What the file's stat says: size, modification time, inode and kind; None while it is missing. Compared
    at every poll, so the file itself is read only when it changed (a 270 MB file is never re-read)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino, stat.S_IFMT(info.st_mode)


def _content(path: Path) -> bytes | None:
    """The file's bytes, read only if it is a regular file of at most the config limit (never blocking on a
    FIFO, never reading an endless device); None otherwise (loading it then says why, in its words)."""
    from nnlearn.config.yaml_source import MAX_BYTES
    from nnlearn.files import UnreadableFile, read_bounded

    try:
        return read_bounded(path, MAX_BYTES, "")
    except UnreadableFile:
        return None


def _settled(path: Path, signature: tuple | None) -> tuple | None:
    """The file's signature once it has stayed the same for SETTLE_SECONDS, or, when it changed again
    meanwhile (a burst of saves), for BURST_SECONDS: twenty saves in a second are trained once, on the last."""
    quiet_for, changed = SETTLE_SECONDS, time.monotonic()
    while time.monotonic() - changed < quiet_for:
        time.sleep(0.03)
        now = _signature(path)
        if now != signature:
            signature, changed, quiet_for = now, time.monotonic(), BURST_SECONDS
    return signature


def watch(config_path: str | Path, overrides: list[str] | tuple = (), *, on_run, on_error,
          progress=None, max_runs: int | None = None, poll_seconds: float = POLL_SECONDS, on_changes=None,
          on_save=None, stop=None) -> int:
    """Train config_path, then again after every save, until Ctrl-C (KeyboardInterrupt), max_runs, or
    stop (a threading.Event) is set.

    on_save(text) is called with the file's text each time a save is picked up, before it is checked;
    on_changes(changes) is called as each run after the first starts, with the (key, before, after) of
    every config value changed since the last completed run, so that what was picked up shows at once;
    on_run(Retrained) is called after each completed run; on_error(NnlearnError) for an invalid edit or
    a failed run, after which watching goes on. A Ctrl-C during a run stops that run as `nnlearn
    train` does and raises its Interrupted error. Returns the number of completed runs.
    """
    path = Path(config_path)
    looked: object = object()  # differs from every signature (a missing file's too), so the first look reads it
    seen: object = object()  # the content last trained (or refused), so a save that changed nothing trains once
    started = time.time()
    previous = None
    previous_config: dict | None = None
    completed = 0
    while (max_runs is None or completed < max_runs) and not (stop is not None and stop.is_set()):
        signature = _signature(path)
        if signature == looked:
            time.sleep(poll_seconds)
            continue
        looked = signature = _settled(path, signature)
        content = _content(path)
        if content is not None and content == seen:  # touched, or saved unchanged
            continue
        modified = signature[1] / 1e9 if signature is not None else None
        changed_at = modified if modified is not None and started <= modified <= time.time() else started
        seen = content
        if on_save is not None:
            on_save((content or b"").decode("utf-8", errors="replace"))
        try:
            config = load_config(path, overrides)
            resolved = config.model_dump(mode="json")
            changes = config_changes(previous_config, resolved) if previous_config is not None else []
            if on_changes is not None and previous_config is not None:
                on_changes(changes)
            with lock.held(new=True):  # each run's lock is let go when it ends: it can be resumed or drawn
                run = train_config(config, path.parent, progress=progress)
        except NnlearnError as error:
            if getattr(error, "exit_code", 2) == 130:
                raise
            on_error(error)
            continue

        on_run(Retrained(run, time.time() - changed_at, changes, previous, after_save=changed_at != started,
                         diagnosis=diagnose_run(RunDir(run.run_dir), run.prepared)))
        previous, previous_config = run, resolved
        completed += 1
    return completed
