"""A saved model.keras: checked for code that loading would run, then loaded with Keras' safe mode."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

from nnlearn.errors import RunError
from nnlearn.files import UnreadableFile, check_regular_file

MAX_CONFIG_BYTES = 64 * 1024**2


def load_saved_model(path: Path):
    """Load model.keras with safe_mode=True, so no code stored in the file is ever executed.

    A file with a Lambda layer or custom objects is refused with a RunError naming what it holds.
    Imports TensorFlow.
    """
    check_model_is_safe(path)
    from nnlearn.model.build import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError, OSError) as error:
        raise RunError(f"cannot load {path} safely: {error}",
                       hint="only load models made by `nnlearn train`.") from None


def check_model_is_safe(path: Path) -> None:
    """Refuse a model.keras holding a Lambda layer or a custom (non-Keras) object, before loading it.

    Loading uses safe_mode=True as well; this check gives the learner a clear reason.
    """
    try:
        check_regular_file(path)
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise ValueError("its config.json is far larger than any model's")
            config = json.loads(archive.read("config.json"))
    except UnreadableFile as error:
        raise RunError(error.message, hint="give the folder that `nnlearn train` printed.") from None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as error:
        raise RunError(f"{path} is not a readable Keras model file ({error}).",
                       hint="train the config again to get a fresh model.keras.") from None
    for node in _walk(config):
        class_name = node.get("class_name")
        if class_name in ("Lambda", "__lambda__"):
            kind = "a Lambda layer" if class_name == "Lambda" else "a lambda function"
            raise RunError(f"{path} contains {kind}: arbitrary Python code that loading would "
                           "execute. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`; nnlearn never builds Lambda "
                                "layers or lambda functions.")
        if "class_name" not in node or "module" not in node:
            continue
        module = node["module"]
        if not isinstance(module, str) or not (module == "keras" or module.startswith("keras.")):
            named = f"{module}.{class_name}" if isinstance(module, str) else f"{class_name!s:.80} with no module"
            raise RunError(f"{path} refers to custom code ({named:.200}) that loading would import and "
                           "run. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`.")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
