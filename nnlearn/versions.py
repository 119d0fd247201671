"""nnlearn's version, and the TensorFlow and Keras versions installed beside it (read without importing them).

A rerun is bit-identical to the run it repeats when these versions are the same.
"""

from __future__ import annotations

from importlib import metadata

__version__ = "0.1.0"

_DISTRIBUTIONS = (("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos")), ("keras", ("keras",)))


def installed_versions() -> dict[str, str]:
    """{"nnlearn": ..., "tensorflow": ..., "keras": ...}: a library that is not installed is left out."""
    versions = {"nnlearn": __version__}
    for name, distributions in _DISTRIBUTIONS:
        for distribution in distributions:
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions
