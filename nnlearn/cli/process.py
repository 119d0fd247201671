"""How an `nnlearn` process starts and ends: output whose reader may leave (or was never there), text a
terminal cannot encode, and a quick, quiet exit.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import codecs
import io
import os
import signal
import sys
import threading
import unicodedata

# characters nnlearn prints, as a terminal that cannot show them gets them (PYTHONIOENCODING=ascii, a
# latin-1 console); anything else is decomposed (é -> e, ₁ -> 1) or, failing that, becomes "?"
PLAIN = {"→": "->", "←": "<-", "↑": "^", "↓": "v", "—": "-", "–": "-", "−": "-", "…": "...", "±": "+/-",
         "×": "x", "≥": ">=", "≤": "<=", "≈": "~", "≠": "!=", "·": ".", "•": "*", "✓": "v", "✗": "x", "‘": "'",
         "’": "'", "“": '"', "”": '"', "ŷ": "y^", "Σ": "sum", "σ": "sigma", "α": "alpha", "β": "beta",
         "ε": "epsilon", "λ": "lambda", "η": "eta", "μ": "mu", "∂": "d", "√": "sqrt", "∞": "inf", "°": " deg",
         "─": "-", "━": "-", "│": "|", "┃": "|", "╸": "-", "╺": "-", "┌": "+", "┐": "+", "└": "+", "┘": "+",
         "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+", "╭": "+", "╮": "+", "╰": "+", "╯": "+", "═": "=",
         "║": "|", "█": "#", "▇": "*", "▆": "+", "▅": "=", "▄": "-", "▃": ":", "▂": ".", "▁": "_", "░": ".",
         "▒": ":", "▓": "#", "●": "o", "○": "o", "■": "#", "□": "o", "▶": ">", "◀": "<", "⠋": "-", "⠙": "\\",
         "⠹": "|", "⠸": "/", "⠼": "-", "⠴": "\\", "⠦": "|", "⠧": "/", "⠇": "-", "⠏": "\\"}


def plain_text(text: str, encoding: str) -> str:
    """text with each character the encoding cannot hold replaced by a plain one (PLAIN, else its
    decomposition, else "?"): never a UnicodeEncodeError, whatever a message holds."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:  # an encoding Python does not know: write what every encoding holds
        encoding = "ascii"
    kept = []
    for character in text:
        try:
            character.encode(encoding)
            kept.append(character)
            continue
        except UnicodeEncodeError:
            pass
        substitute = PLAIN.get(character) or unicodedata.normalize("NFKD", character)
        kept.append(substitute.encode(encoding, errors="ignore").decode(encoding) or "?")
    return "".join(kept)


def _writes_any_text(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "utf-8").name in ("utf-8", "utf-16", "utf-32")
    except LookupError:
        return False


class OutputWhoseReaderMayLeave:
    """A standard stream that goes quiet once its reader has gone (`nnlearn train ... | head -1`, a stream
    closed with `>&-`, a disk that filled up): the command carries on and saves what it makes, instead of
    dying half-way through a run. Text its encoding cannot hold is written plainly (see plain_text)."""

    def __init__(self, stream):
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._any_text = _writes_any_text(self._encoding)
        self._gone = False

    def write(self, text: str) -> int:
        if self._gone:
            return len(text)
        try:
            return self._stream.write(text if self._any_text else plain_text(text, self._encoding))
        except (OSError, ValueError):  # a reader that left, a full disk, a stream closed under us
            self._discard_from_now_on()
            return len(text)

    def flush(self) -> None:
        if self._gone:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._discard_from_now_on()

    def _discard_from_now_on(self) -> None:
        # what is still buffered, and everything written later, goes to /dev/null at the file level,
        # so neither this process nor Python's own flush at exit meets the closed pipe again
        self._gone = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name):  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self._stream, name)


def _open_closed_descriptors() -> None:
    """A standard stream closed by the shell (`>&-`, `2>&-`, `<&-`) is opened on /dev/null: the command's
    output goes nowhere, as asked, and no file the command opens later (run.json, a checkpoint) can take
    descriptor 1 or 2 and receive what a library prints."""
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
            continue
        except OSError:
            pass
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            continue
        if null != descriptor:
            os.dup2(null, descriptor)
            os.close(null)
    if sys.stdin is None:
        sys.stdin = open(0, closefd=False)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)


def guard_output() -> None:
    """Make stdout and stderr outlive their readers, and speak plainly to a terminal that cannot show
    every character (see OutputWhoseReaderMayLeave)."""
    _open_closed_descriptors()
    if not isinstance(sys.stdout, OutputWhoseReaderMayLeave):
        sys.stdout = OutputWhoseReaderMayLeave(sys.stdout)
    if not isinstance(sys.stderr, OutputWhoseReaderMayLeave):
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
    from nnlearn.files import remove_temporary_folders

    remove_temporary_folders()  # os._exit runs no atexit handler: the command's temporary files go now
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed stream (or none): nothing more can reach it
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
