"""A folder of images with one sub-folder per class: the layout of keras.utils.image_dataset_from_directory.

Listing the folder (classes, files, counts) needs no TensorFlow, and every image is opened with Pillow
(its header and structure, not its pixels), so `validate` and `explain` name each file that cannot be used
without TensorFlow; the pixels are decoded by TensorFlow's own image ops (tf.io.decode_image,
tf.image.resize, as image_dataset_from_directory does) before a run's first epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.data.sources import IMAGE_SUFFIXES, Source
from nnlearn.errors import DataError

PIXEL_RANGE = 255.0


@dataclass
class ImageFolder:
    """The image files of a folder, one row each, with their class; decoded on demand."""

    folder: Path
    files: list[Path]
    labels: np.ndarray
    class_names: list[str]
    image_size: tuple[int, int]
    channels: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)

    def decode(self, rows: np.ndarray) -> np.ndarray:
        """The images of the given rows as flat float32 rows of pixels in 0..255."""
        return decode_files([self.files[row] for row in rows], self.image_size, self.channels, "data.source")


MAX_IMAGE_PIXELS = 50_000_000  # width x height of one image (a 50-megapixel photo), read from its header
MAX_IMAGE_BYTES = 256 * 1024**2
SHOWN_PROBLEMS = 20  # unreadable images named one by one; the rest are counted


def _hidden(path: Path, top: Path) -> bool:
    """A hidden file or folder below top (`.DS_Store`, macOS's `._photo.png` companions, `.git/`)."""
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def image_files(folder: Path) -> list[Path]:
    """The image files below folder, sorted, hidden files and folders left out (macOS writes a `._name.png`
    beside each file it copies to some drives: it is no image)."""
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES
                  and not _hidden(path, folder) and path.is_file())


def list_folder(folder: Path, image_size: tuple[int, int] | None, color: str) -> ImageFolder:
    """Classes (sub-folders, sorted) and their image files (sorted), each opened and checked (check_images).
    Raises DataError."""
    if image_size is None:
        raise DataError(f"{folder.name} is a folder of images; it needs data.image_size, the [height, width] every "
                        "image is resized to.", path="data.image_size", hint="e.g. image_size: [28, 28].")
    try:
        classes = sorted(entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except OSError as error:
        raise DataError(f"cannot read the folder {folder}: {error.strerror or error}.", path="data.source",
                        hint="check the path and its permissions.") from None
    if len(classes) < 2:
        raise DataError(f"{folder} holds {len(classes)} class folder{'s' if len(classes) != 1 else ''}; an image "
                        "folder needs one sub-folder per class, at least two.", path="data.source",
                        hint=f"put each class's images in its own folder: {folder.name}/cat/1.png, "
                             f"{folder.name}/dog/1.png, ...")
    files, labels = [], []
    for label, class_folder in enumerate(classes):
        found = image_files(class_folder)
        if not found:
            raise DataError(f"the class folder {class_folder.name!r} in {folder} has no images "
                            f"({', '.join(IMAGE_SUFFIXES)}).", path="data.source",
                            hint="put its images in it, or remove the folder.")
        files += found
        labels += [label] * len(found)
    check_images(files, folder, "data.source")
    return ImageFolder(folder, files, np.asarray(labels, dtype=np.int64), [path.name for path in classes],
                       tuple(image_size), 1 if color == "grayscale" else 3)


def check_images(files: list[Path], top: Path, field: str) -> None:
    """Open every image with Pillow, without TensorFlow and without decoding its pixels: its header (an
    image past MAX_IMAGE_PIXELS would take gigabytes once decoded) and its structure (a truncated or
    damaged file). One DataError naming each file that cannot be used, with the fix."""
    problems = []
    for path in files:
        reason = image_problem(path)
        if reason is not None:
            problems.append(reason)
    if not problems:
        return
    from nnlearn.errors import Problem

    listed = [Problem(field, f"{_shown(path, top)}: {message}", hint=hint) for path, message, hint in
              problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        listed.append(Problem(field, f"and {len(problems) - SHOWN_PROBLEMS} more images that cannot be used.",
                              hint="the same fixes apply to them."))
    raise DataError(problems=listed)


def _shown(path: Path, top: Path) -> str:
    try:
        return str(top.name / path.relative_to(top)) if top.is_dir() else str(path)
    except ValueError:
        return str(path)


def image_problem(path: Path) -> tuple[Path, str, str] | None:
    """(path, what is wrong, the fix) when path cannot be used as an image; None when it can."""
    from PIL import Image, UnidentifiedImageError

    from nnlearn.files import UnreadableFile, check_regular_file

    fix = f"remove it (or move it out of the folder), or save it again as one of {', '.join(IMAGE_SUFFIXES)}."
    Image.MAX_IMAGE_PIXELS = None  # Pillow's own limit would refuse first, in its words: nnlearn checks below
    try:
        check_regular_file(path)
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                return (path, f"it is {width:,} x {height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} nnlearn "
                              f"decodes in one image (it would take {width * height * 3 / 1024**3:,.1f} GiB of "
                              "memory as pixels).", "shrink it (every image is resized to data.image_size "
                                                    "anyway), or remove it.")
            kind = image.format
            image.verify()  # the file's structure (chunks, checksums), without decoding its pixels
        if kind == "JPEG":  # a JPEG's verify checks nothing: decode it at 1/8 of its size, which reads it all
            with Image.open(path) as image:
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except UnreadableFile as error:
        return path, error.message, error.hint
    except Image.DecompressionBombError:
        return (path, f"it holds more pixels than the {MAX_IMAGE_PIXELS:,} nnlearn decodes in one image.",
                "shrink it, or remove it.")
    except PermissionError:
        return path, "it cannot be read: permission denied.", "check the file's permissions (chmod a+r), or remove it."
    except UnidentifiedImageError:
        return path, "it is not an image (its content is no PNG, JPEG, BMP or GIF).", fix
    except Exception as error:  # a damaged file can fail anywhere in Pillow's parsers, with any exception
        return path, f"it is damaged: {_sentence(str(error) or type(error).__name__)}", fix
    return None


def _sentence(text: str, limit: int = 200) -> str:
    """A library's message as one whole sentence: TensorFlow's op names (`{{function_node ...}}`, `[Op:...]`)
    left out, cut at a word with "..." rather than mid-word."""
    import re

    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\]", "", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(".,;:") + " ..."
    return text if text.endswith((".", "...")) else text + "."


def decode_files(files: list[Path], image_size: tuple[int, int], channels: int, field: str) -> np.ndarray:
    """Decode and resize image files with TensorFlow; a file that cannot be read or decoded is a DataError
    naming it, in words (never TensorFlow's op names)."""
    from nnlearn.tensorflow_import import tf

    rows = np.empty((len(files), image_size[0] * image_size[1] * channels), dtype=np.float32)
    for index, path in enumerate(files):
        fix = f"remove the file, or save it again as one of {', '.join(IMAGE_SUFFIXES)}."
        data = _image_bytes(path, field)
        try:
            image = _decode(tf, data, channels)
        except tf.errors.OpError as error:
            raise DataError(f"cannot read {path} as an image: {_sentence(str(error.message))}", path=field,
                            hint=fix) from None
        resized = tf.image.resize(image, image_size)  # bilinear, as image_dataset_from_directory
        rows[index] = resized.numpy().reshape(-1)
    return rows


def _image_bytes(path: Path, field: str) -> bytes:
    from nnlearn.files import UnreadableFile, read_bounded

    try:
        return read_bounded(path, MAX_IMAGE_BYTES, "shrink the image, or remove it.")
    except UnreadableFile as error:
        raise DataError(error.message, path=field, hint=error.hint) from None


def _decode(tf, data: bytes, channels: int):
    """TensorFlow's decode_image, as image_dataset_from_directory calls it; BMP and GIF, which TensorFlow
    decodes only in colour, are decoded in colour and then turned grey (tf.image.rgb_to_grayscale)."""
    if channels == 1 and (data[:2] == b"BM" or data[:4] == b"GIF8"):
        colour = tf.io.decode_image(data, channels=3, expand_animations=False)
        return tf.image.rgb_to_grayscale(colour)
    return tf.io.decode_image(data, channels=channels, expand_animations=False)


def image_inputs(source: Source, image_size: tuple[int, int], channels: int) -> tuple[list[Path], np.ndarray]:
    """`predict --input`: one image file or a folder of them (searched through its sub-folders), each
    checked as training checks them (check_images) before TensorFlow decodes it."""
    path = source.path
    if source.kind == "images":
        files = image_files(path)
        if not files:
            raise DataError(f"the folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}).", path="--input")
    elif source.kind == "image":
        files = [path]
    else:
        raise DataError(f"{path.name}: this run was trained on images; predict reads an image file "
                        f"({', '.join(IMAGE_SUFFIXES)}) or a folder of them.", path="--input")
    check_images(files, path, "--input")
    return files, decode_files(files, image_size, channels, "--input")
