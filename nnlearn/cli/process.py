"""How an `nnlearn` process starts and ends: output whose reader may leave, and a quick, quiet exit.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


class OutputWhoseReaderMayLeave:
    """A standard stream that goes quiet once its reader has gone (`nnlearn train ... | head -1`): the
    command carries on and saves what it makes, instead of dying half-way through a run."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard_from_now_on()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard_from_now_on()

    def _discard_from_now_on(self) -> None:
        # what is still buffered, and everything written later, goes to /dev/null at the file level,
        # so neither this process nor Python's own flush at exit meets the closed pipe again
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self._stream.fileno())
        os.close(null)

    def __getattr__(self, name):  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self._stream, name)


def guard_output() -> None:
    """Make stdout and stderr outlive their readers (see OutputWhoseReaderMayLeave)."""
    if sys.stdout is not None:
        sys.stdout = OutputWhoseReaderMayLeave(sys.stdout)
    if sys.stderr is not None:
        sys.stderr = OutputWhoseReaderMayLeave(sys.stderr)


def exit_after(code) -> None:
    """The command is done with status `code` (SystemExit's): leave now where that saves time.

    Python's module teardown takes about a second once TensorFlow is loaded, a second the learner waits
    for the prompt for nothing: every file the command wrote is closed by then, so run the exit handlers
    and leave without it. With other threads still running, exit as usual (they may be finishing work).
    """
    ignore_further_interrupts()  # the exit status is decided: a late Ctrl-C must not turn it into a kill
    if code in (130, 143):
        exit_interrupted(code)
    if "tensorflow" in sys.modules and threading.active_count() == 1:
        import atexit

        if code is not None and not isinstance(code, int):  # SystemExit("message"), as Python prints it
            print(code, file=sys.stderr)
            code = 1
        atexit._run_exitfuncs()
        _leave(code or 0)


def exit_interrupted(code: int) -> None:
    """Exit now with code. A Ctrl-C that landed inside a library's import can make Python re-raise SIGINT
    at shutdown (exit status -2 instead of 130); the run's files are already written, so leave at once."""
    ignore_further_interrupts()
    _leave(code)


def _leave(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed stream: nothing more can reach it
            pass
    os._exit(code)


def ignore_further_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def quiet_at_shutdown(unraisable) -> None:
    """An exception Python cannot raise (in a finalizer, a weakref callback) would be printed with a
    traceback. A Ctrl-C that lands there is handed to the main thread, where it stops the command as any
    Ctrl-C does, instead of being printed and lost. A process that stops because a peer died can leave a
    library's worker pool with a closed pipe ("Exception ignored in Pool.__del__" at shutdown): nothing
    is lost by it and the user's message has been printed, so that one is kept quiet."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        import _thread

        _thread.interrupt_main()  # does nothing once Ctrl-C is ignored (the exit status is decided)
        return
    if isinstance(unraisable.exc_value, OSError):
        return
    sys.__unraisablehook__(unraisable)
