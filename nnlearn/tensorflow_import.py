"""TensorFlow, imported quietly when this module is first imported (~5 s): no C++ start-up lines (oneDNN,
CUDA probing) and no absl or TensorFlow log lines below errors on the learner's terminal (the command line
also hides Python warnings). Import `tf` from here, inside the functions that need it, never at the top of
a module that a command without training loads."""

from __future__ import annotations

import logging
import os
import sys


class _SkipUnused:
    """Keras imports matplotlib.pyplot (~0.4 s) only for an image-gallery helper, and scikit-learn (~0.6 s,
    with scipy.stats) only for its scikit-learn wrappers; nnlearn uses neither, and Keras works without
    them. Only while TensorFlow is imported: pictures import pyplot with the Agg backend when one is drawn,
    data sources scikit-learn for a synthetic dataset."""

    SKIPPED = ("matplotlib.pyplot", "sklearn")

    def find_spec(self, name, path=None, target=None):
        if name in self.SKIPPED and name not in sys.modules:
            raise ModuleNotFoundError(name)
        return None


def _duplicate(descriptor: int) -> int | None:
    """A copy of a file descriptor, or None when it is closed (`2>&-`)."""
    try:
        return os.dup(descriptor)
    except OSError:
        return None


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if sys.stderr is not None:
    sys.stderr.flush()
_saved_stderr = _duplicate(2)
_skipped = _SkipUnused()
sys.meta_path.insert(0, _skipped)
try:
    with open(os.devnull, "w") as _devnull:
        if _saved_stderr is not None:
            os.dup2(_devnull.fileno(), 2)
        import tensorflow as tf
finally:
    sys.meta_path.remove(_skipped)
    if _saved_stderr is not None:
        os.dup2(_saved_stderr, 2)
        os.close(_saved_stderr)
for _name in ("tensorflow", "absl", "keras"):
    logging.getLogger(_name).setLevel(logging.ERROR)

keras = tf.keras
