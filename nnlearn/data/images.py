"""A folder of images with one sub-folder per class: the layout of keras.utils.image_dataset_from_directory.

Listing the folder (classes, files, counts) needs no TensorFlow, so `validate` and `explain` check it
without decoding anything; the pixels are decoded by TensorFlow's own image ops (tf.io.decode_image,
tf.image.resize, as image_dataset_from_directory does) the first time a run needs them.
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


def list_folder(folder: Path, image_size: tuple[int, int] | None, color: str) -> ImageFolder:
    """Classes (sub-folders, sorted) and their image files (sorted). Raises DataError."""
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
        found = sorted(path for path in class_folder.rglob("*")
                       if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
        if not found:
            raise DataError(f"the class folder {class_folder.name!r} in {folder} has no images "
                            f"({', '.join(IMAGE_SUFFIXES)}).", path="data.source",
                            hint="put its images in it, or remove the folder.")
        files += found
        labels += [label] * len(found)
    return ImageFolder(folder, files, np.asarray(labels, dtype=np.int64), [path.name for path in classes],
                       tuple(image_size), 1 if color == "grayscale" else 3)


def decode_files(files: list[Path], image_size: tuple[int, int], channels: int, field: str) -> np.ndarray:
    """Decode and resize image files with TensorFlow; a file that is not an image is a DataError."""
    from nnlearn.tensorflow_import import tf

    rows = np.empty((len(files), image_size[0] * image_size[1] * channels), dtype=np.float32)
    for index, path in enumerate(files):
        try:
            image = tf.io.decode_image(tf.io.read_file(str(path)), channels=channels, expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError) as error:
            reason = str(getattr(error, "message", error)).splitlines()[0][:120]
            raise DataError(f"cannot read {path} as an image: {reason}", path=field,
                            hint=f"remove the file, or save it again as one of {', '.join(IMAGE_SUFFIXES)}.") from None
        resized = tf.image.resize(image, image_size)  # bilinear, as image_dataset_from_directory
        rows[index] = resized.numpy().reshape(-1)
    return rows


def image_inputs(source: Source, image_size: tuple[int, int], channels: int) -> tuple[list[Path], np.ndarray]:
    """`predict --input`: one image file or a folder of them (searched through its sub-folders)."""
    path = source.path
    if source.kind == "images":
        files = sorted(found for found in path.rglob("*") if found.suffix.lower() in IMAGE_SUFFIXES and found.is_file())
        if not files:
            raise DataError(f"the folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}).", path="--input")
    elif source.kind == "image":
        files = [path]
    else:
        raise DataError(f"{path.name}: this run was trained on images; predict reads an image file "
                        f"({', '.join(IMAGE_SUFFIXES)}) or a folder of them.", path="--input")
    return files, decode_files(files, image_size, channels, "--input")
