"""One writer at a time for a run folder (or a sweep folder): an operating-system lock on a file inside it.

Every command that writes a run takes its lock before anything else (`train --resume` before it even
reads run.json), and RunDir takes it again before each write, so no write can slip past it. A second
writer is refused at once with the process that holds the folder (exit 2); readers (`runs`, `compare`,
`diagnose`, `eval`) never take the lock, so they never wait.

The lock is `fcntl.flock` on `.lock` in the folder: the standard library's, held by an open file, so the
operating system releases it when its process ends however it ends (a SIGKILL, a crash, a power cut
leaves no stale lock behind, which a lock file's mere existence or a pid in run.json cannot promise).
Locks this process took are counted: taking one again is free, and `held()` releases those taken
inside it when it ends (a command's end, or one run of a sweep or a watch).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from nnlearn.errors import RunError

LOCK_FILE = ".lock"
HOLDER_READS = 100  # of the lock file, 10 ms apart, while it is still empty: the holder writes it at once

_taken: dict[str, int] = {}  # resolved folder -> the open file descriptor holding its lock
_guard = threading.Lock()
_scopes = threading.local()  # per thread: a stack of lists of folders, each released by its held()


def _key(folder: Path) -> str:
    return str(Path(folder).resolve())


def take(folder: str | Path) -> None:
    """Hold folder's lock until the enclosing held() ends (or this process does); RunBusy when another
    process holds it. Free when this process holds it already. A folder where no lock file can be
    made (read-only) is left unlocked: nothing can be written to it either."""
    key = _key(Path(folder))
    with _guard:
        if key in _taken:
            return
        descriptor = _lock(Path(folder))
        if descriptor is None:
            return
        _taken[key] = descriptor
    stack = getattr(_scopes, "stack", None)
    if stack:
        stack[-1].append(key)


def _lock(folder: Path) -> int | None:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the pid in run.json still guards against a running trainer
        return None
    try:
        descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(descriptor)
        os.close(descriptor)
        raise busy(folder, holder) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n{_command()}\n".encode("utf-8", errors="replace"))
    return descriptor


def _command() -> str:
    return " ".join(["nnlearn", *sys.argv[1:]]) if sys.argv and "nnlearn" in sys.argv[0] else " ".join(sys.argv)


def _holder(descriptor: int) -> tuple[str, str]:
    """(pid, command) the holder wrote into the lock file ("", "" when it has not yet). The holder writes
    them just after it takes the lock, so an empty file is read again for a moment before giving up."""
    text = ""
    for _ in range(HOLDER_READS):
        try:
            text = os.pread(descriptor, 4096, 0).decode("utf-8", errors="replace")
        except OSError:
            return "", ""
        if text.strip():
            break
        time.sleep(0.01)
    pid, _, command = text.partition("\n")
    return pid.strip(), command.strip()


def busy(folder: Path, holder: tuple[str, str]) -> RunError:
    """The error of a folder another process is writing."""
    pid, command = holder
    who = f"process {pid}" + (f" ({command})" if command else "") if pid else "another process"
    stop = f"stop it (kill {pid})" if pid else "stop it"
    return RunError(f"{folder} is being written by {who}: one command at a time may write a run folder.",
                    hint=f"wait for it to finish, or {stop}, then try again. Reading the run (nnlearn runs, "
                         "compare, diagnose) works meanwhile.")


def moved(old: str | Path, new: str | Path) -> None:
    """old, whose lock this process holds, was renamed to new: the lock (held by its open file, which the
    rename keeps) now answers to new's name, so the folder is never unlocked on its way into place."""
    old_key, new_key = _key(Path(old)), _key(Path(new))
    with _guard:
        if old_key in _taken:
            _taken[new_key] = _taken.pop(old_key)
    for scope in getattr(_scopes, "stack", None) or []:
        scope[:] = [new_key if key == old_key else key for key in scope]


def release(folder: str | Path) -> None:
    """Let go of folder's lock, if this process holds it."""
    with _guard:
        descriptor = _taken.pop(_key(Path(folder)), None)
    if descriptor is not None:
        os.close(descriptor)  # closing the file releases the lock


@contextmanager
def held(new: bool = False):
    """Locks taken inside are released when it ends. Inside another held() they belong to the outer
    one (a command holds its run until it ends), unless new (one run of a sweep or a watch)."""
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    if stack and not new:
        yield
        return
    stack.append([])
    try:
        yield
    finally:
        for key in stack.pop():
            release(key)


def holds(folder: str | Path) -> bool:
    """Whether this process holds folder's lock."""
    return _key(Path(folder)) in _taken
