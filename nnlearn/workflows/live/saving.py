"""Saving the page's text into the config file: only after `validate` accepts it, and atomically (a
temporary file beside it, checked, then put in its place), so the file is never invalid, half-written, or
overwritten with a text based on an older version of it."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from nnlearn.config.yaml_source import MAX_BYTES
from nnlearn.workflows.validate import validate_file

_REPLACING = threading.Lock()  # the check that the file is still the version the text was based on, then the swap


def text_sha256(text: str) -> str:
    """The version of a config's text that the page edits from (`base`): the SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


@dataclass
class Saved:
    """What a save did: status 200 (saved), 409 (the file changed since base), 422 (invalid: errors), or
    500 (the folder cannot be written)."""

    status: int
    errors: list[dict] = field(default_factory=list)
    sha256: str | None = None
    text: str | None = None  # the file's text now, for a 409

    def to_json(self) -> dict:
        shown = {"saved": self.status == 200, "errors": self.errors}
        if self.sha256 is not None:
            shown["sha256"] = self.sha256
        if self.text is not None:
            shown["text"] = self.text
        return shown


def save_config(path: Path, text: str, overrides: list[str] | tuple = (), base: str | None = None) -> Saved:
    """Write text into the config at path when it is valid (the same `validate` as the command, with the
    same --set values); base, when given, is the text_sha256 of the version the text was edited from."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        return Saved(422, [{"path": "", "line": None, "column": None,
                            "message": f"the text is larger than {MAX_BYTES:,} bytes, which no config needs."}])
    target = Path(path).resolve()  # a link to the config: the file it points to is the one replaced
    current = read_text(target)
    if current is not None and "\r\n" in current:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")  # keep the file's own line endings
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:
        return Saved(500, [{"path": "", "line": None, "column": None,
                            "message": f"cannot write into {target.parent}: {error.strerror or error}."}])
    try:
        report = validate_file(Path(temporary), overrides)
        if not report.valid:
            return Saved(422, [problem.as_dict() for problem in report.errors])
        with _REPLACING:
            current = read_text(target)
            if base is not None and current is not None and text_sha256(current) != base:
                return Saved(409, [{"path": "", "line": None, "column": None,
                                    "message": f"{path} changed since the page loaded it; nothing was saved."}],
                             text=current)
            if target.exists():
                shutil.copymode(target, temporary)
            os.replace(temporary, target)
        return Saved(200, sha256=text_sha256(text))
    except OSError as error:
        return Saved(500, [{"path": "", "line": None, "column": None,
                            "message": f"cannot save {path}: {error.strerror or error}."}])
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
