"""Every picture nnlearn draws is made and saved here: matplotlib with its Agg backend (no display needed),
written atomically as a PNG at 100 dpi."""

from __future__ import annotations

import io
from pathlib import Path

from nnlearn.runs.rundir import write_atomic

DPI = 100


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported when the first picture is drawn (~0.4 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path) -> Path:
    """Write the figure to path as a PNG (never half-written) and free it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    pyplot().close(figure)
    write_atomic(Path(path), buffer.getvalue())
    return Path(path)
