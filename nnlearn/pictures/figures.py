"""Every picture nnlearn draws is made and saved here: matplotlib with its Agg backend (no display needed),
written atomically as a PNG at 100 dpi, never more than MAX_PIXELS on a side."""

from __future__ import annotations

import io
from pathlib import Path

from nnlearn.pictures.drawing import DPI, MAX_PIXELS, png_size
from nnlearn.runs.rundir import write_atomic


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported when the first picture is drawn (~0.4 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path) -> Path:
    """Write the figure to path as a PNG (never half-written) and free it; a picture that would pass
    MAX_PIXELS a side is drawn at a lower dpi (a last resort: each picture is laid out to fit at 100 dpi)."""
    png = _png(figure, DPI)
    largest = max(png_size(png))
    if largest > MAX_PIXELS:
        png = _png(figure, DPI * (MAX_PIXELS - 8) / largest)
    pyplot().close(figure)
    write_atomic(Path(path), png)
    return Path(path)


def _png(figure, dpi: float) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
