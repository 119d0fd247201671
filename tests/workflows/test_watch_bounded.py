"""`nnlearn watch` looks at its file with one stat per poll and reads it only when it changed, bounded, and
only if it is a regular file: a FIFO, a link to an endless device or a huge file is an error it reports
once, while it keeps watching (and Ctrl-C still works)."""

import os
import threading

import pytest

from nnlearn.workflows import watch as watching


def _watch_until_reported(path, errors: list, seconds: float = 0.6) -> threading.Thread:
    """watch path in a thread for a while, recording what it reports; stopped by its stop event."""
    stop = threading.Event()
    watcher = threading.Thread(target=watching.watch, args=(path,), daemon=True,
                               kwargs={"on_run": lambda run: None, "on_error": errors.append, "stop": stop,
                                       "poll_seconds": 0.01})
    watcher.start()
    watcher.join(seconds)
    stop.set()
    watcher.join(10)
    return watcher


@pytest.mark.parametrize("make, fragment", [
    (lambda path: os.mkfifo(path), "not a regular file"),
    (lambda path: os.symlink("/dev/zero", path), "not a regular file"),
    (lambda path: path.write_bytes(b"# " + b"x" * 2_000_000 + b"\n"), "holds more than 1,000,000 bytes"),
])
def test_a_file_that_cannot_be_a_config_is_reported_once_and_never_blocks(workdir, make, fragment):
    path = workdir / "config.yaml"
    make(path)
    errors: list = []
    watcher = _watch_until_reported(path, errors)
    assert not watcher.is_alive()  # a FIFO never blocked it, /dev/zero never kept it reading
    assert len(errors) == 1 and fragment in str(errors[0])


def test_an_unchanged_file_is_looked_at_but_never_read_again(workdir, monkeypatch):
    path = workdir / "config.yaml"
    path.write_bytes(b"# " + b"x" * 2_000_000 + b"\n")
    reads = []
    read = watching._content
    monkeypatch.setattr(watching, "_content", lambda path: reads.append(path) or read(path))
    looks = []
    look = watching._signature
    monkeypatch.setattr(watching, "_signature", lambda path: looks.append(path) or look(path))
    _watch_until_reported(path, [])
    assert len(reads) == 1 and len(looks) > 10  # stat at every poll, one read in all
