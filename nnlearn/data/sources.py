"""What a data source is, decided once: a bundled dataset, a synthetic one, a CSV, an NPZ, a folder of images
(one sub-folder per class), one image file, or another path. Every reader, eject and predict take a Source."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nnlearn.config.schema import BUNDLED_DATASETS, SYNTHETIC_DATASETS, source_kind
from nnlearn.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what image_dataset_from_directory reads
Kind = Literal["bundled", "synthetic", "csv", "npz", "images", "image", "other"]


@dataclass(frozen=True)
class Source:
    """A data source: its name as the learner wrote it, its kind, and for a file or folder the resolved path."""

    name: str
    kind: Kind
    path: Path | None = None

    @property
    def is_file(self) -> bool:
        """Read from the learner's disk (a file or a folder), not made by nnlearn or scikit-learn."""
        return self.path is not None

    @classmethod
    def of(cls, name: str, config_dir: Path | None = None, field: str = "data.source") -> Source:
        """The source a config's data.source names; "other" for a path nnlearn does not
        read (each reader says what it expected). A path that does not exist is decided by its name (the
        readers say it is missing)."""
        kind = source_kind(name)
        if kind in ("bundled", "synthetic"):
            return cls(name, kind)
        return cls.at(resolve_source(name, config_dir, field), name)

    @classmethod
    def at(cls, path: Path, name: str | None = None) -> Source:
        """The kind of a file or folder on disk (predict's --input is always one)."""
        suffix = path.suffix.lower()
        if suffix in (".csv", ".npz"):
            kind = suffix[1:]
        elif _is_dir(path):
            kind = "images"
        else:
            kind = "image" if suffix in IMAGE_SUFFIXES else "other"
        return cls(name or str(path), kind, path)


def unknown_source(name: str) -> DataError:
    """The error for a data.source that is no dataset's name and no file nnlearn reads."""
    names = BUNDLED_DATASETS + SYNTHETIC_DATASETS
    guess = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return DataError(f"unknown data source {name!r}; expected one of {', '.join(names)}, or a path to a .csv or "
                     ".npz file or a folder of images.", path="data.source",
                     hint=f"did you mean {guess[0]!r}?" if guess else
                     "give a bundled or synthetic dataset's name, or a file path.")


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def resolve_source(source: str, config_dir: Path | None, field: str = "data.source") -> Path:
    """A file source relative to the config's folder if it exists there, else to the current folder."""
    try:
        path = Path(source).expanduser()
    except RuntimeError:  # ~someone with no such user
        raise DataError(f"cannot find the home folder in {source!r}: there is no such user.",
                        path=field, hint="write the path without ~user, e.g. relative to the "
                                         "config's folder.") from None
    try:
        if not path.is_absolute() and config_dir is not None and (config_dir / path).exists():
            return (config_dir / path).resolve()
        return path.resolve()
    except (OSError, RuntimeError) as error:  # a name too long; a loop of links (RuntimeError)
        reason = getattr(error, "strerror", None) or "a loop of symbolic links"
        raise DataError(f"cannot use the path {source!r:.120}: {reason}.", path=field,
                        hint="give the path of an existing .csv or .npz file.") from None
