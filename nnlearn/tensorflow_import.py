"""TensorFlow, imported once and quietly: no C++ start-up lines (oneDNN, CUDA probing) and no absl or
TensorFlow log lines below errors on the learner's terminal (the command line also hides Python warnings)."""

from __future__ import annotations

import logging
import os
import sys


def import_tensorflow():
    """The tensorflow module (~5 s the first time). Imports matplotlib.pyplot and scikit-learn only if
    something else does (see _SkipUnused)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if sys.stderr is not None:
        sys.stderr.flush()
    saved = _duplicate(2)
    skipped = _SkipUnused()
    sys.meta_path.insert(0, skipped)
    try:
        with open(os.devnull, "w") as devnull:
            if saved is not None:
                os.dup2(devnull.fileno(), 2)
            import tensorflow
    finally:
        sys.meta_path.remove(skipped)
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return tensorflow


def _duplicate(descriptor: int) -> int | None:
    """A copy of a file descriptor, or None when it is closed (`2>&-`)."""
    try:
        return os.dup(descriptor)
    except OSError:
        return None


class _SkipUnused:
    """Keras imports matplotlib.pyplot (~0.4 s) only for an image-gallery helper, and scikit-learn (~0.6 s,
    with scipy.stats) only for its scikit-learn wrappers; nnlearn uses neither, and Keras works without
    them. Only while TensorFlow is imported: plots import pyplot with the Agg backend when a plot is drawn,
    data sources scikit-learn for a synthetic dataset."""

    SKIPPED = ("matplotlib.pyplot", "sklearn")

    def find_spec(self, name, path=None, target=None):
        if name in self.SKIPPED and name not in sys.modules:
            raise ModuleNotFoundError(name)
        return None
