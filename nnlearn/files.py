"""Reading a file the user named: ordinary files only, never more than a limit, never blocking.

A FIFO would block forever and /dev/zero never ends, so anything that is not a regular file is
refused before it is read, and a read stops one byte past its limit whatever `stat` says.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from pathlib import Path

from nnlearn.errors import UnreadableFile  # noqa: F401 (raised here, caught by callers)


def check_regular_file(path: Path) -> os.stat_result:
    """The file's stat, or UnreadableFile for a missing path, a folder, a pipe or a device."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist.", "check the path and spelling.") from None
    except OSError as error:
        raise UnreadableFile(f"{path} cannot be read: {error.strerror}.",
                             "check the path and its permissions.") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile(f"{path} is a folder, not a file.", "give the path of a file inside it.")
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(f"{path} is not a regular file (a pipe, socket or device); nnlearn reads "
                             "ordinary files only.", "save the content to a file and give its path.")
    return info


def read_bounded(path: Path, limit: int, advice: str) -> bytes:
    """At most limit bytes of a regular file; UnreadableFile (with advice as the fix) if it holds more."""
    check_regular_file(path)
    try:
        # O_NONBLOCK: should the path become a FIFO after the check, opening it still returns at once
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise UnreadableFile(f"{path} cannot be read: {error.strerror}.",
                             "check the path and its permissions.") from None
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise UnreadableFile(f"{path} is not a regular file; nnlearn reads ordinary files only.",
                                 "save the content to a file and give its path.")
        try:
            data = _read_up_to(stream, limit + 1)
        except OSError as error:
            raise UnreadableFile(f"{path} cannot be read: {error.strerror}.",
                                 "check the file and the disk.") from None
    if len(data) > limit:
        raise UnreadableFile(f"{path} holds more than {limit:,} bytes; nnlearn reads at most {limit:,} here.",
                             advice)
    return data


def _read_up_to(stream, size: int, block: int = 1 << 20) -> bytes:
    """At most size bytes, read a block at a time: memory follows what the file holds, never the limit."""
    blocks, total = [], 0
    while total < size:
        chunk = stream.read(min(block, size - total))
        if not chunk:
            break
        blocks.append(chunk)
        total += len(chunk)
    return b"".join(blocks)


def count_lines(path: Path, block: int = 1 << 20) -> int:
    """How many newline bytes a file holds, counted in blocks: an upper bound on a CSV's rows, found
    without parsing them. Counted once per version of the file (deciding whether to stream a CSV and
    then reading it both ask)."""
    info = check_regular_file(path)
    key = (str(Path(path).resolve()), info.st_size, info.st_mtime_ns, info.st_ino)
    if key not in _LINE_COUNTS:
        lines = 0
        try:
            with open(path, "rb") as stream:
                for chunk in iter(lambda: stream.read(block), b""):
                    lines += chunk.count(b"\n")
        except OSError as error:
            raise UnreadableFile(f"{path} cannot be read: {error.strerror}.",
                                 "check the file and the disk.") from None
        _LINE_COUNTS.clear()  # only the latest file: a watch or sweep process never grows it
        _LINE_COUNTS[key] = lines
    return _LINE_COUNTS[key]


_LINE_COUNTS: dict[tuple, int] = {}


def sha256_of_file(path: Path, block: int = 1 << 20) -> str:
    """The file's sha256, read a block at a time (a big CSV is never held whole)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def available_memory() -> int | None:
    """Bytes of memory the machine can still give this process (Linux's MemAvailable), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    index = 0
    while count >= 1024 and index < len(units) - 1:
        count /= 1024
        index += 1
    return f"{count:,.0f} bytes" if index == 0 else f"{count:,.1f} {units[index]}"


_TEMPORARY_FOLDERS: list[Path] = []


def temporary_folder(prefix: str) -> Path:
    """A new folder in the temporary directory, removed by remove_temporary_folders: called on every way out
    of the command line, the quick exit after Ctrl-C included, where atexit handlers do not run (atexit
    stays only for library use)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if not _TEMPORARY_FOLDERS:
        atexit.register(remove_temporary_folders)
    _TEMPORARY_FOLDERS.append(folder)
    return folder


def remove_temporary_folders() -> None:
    """Remove every folder temporary_folder made, newest first."""
    while _TEMPORARY_FOLDERS:
        shutil.rmtree(_TEMPORARY_FOLDERS.pop(), ignore_errors=True)
