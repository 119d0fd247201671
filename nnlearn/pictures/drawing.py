"""What every picture shares: one colour per class and the legend that names them, images shown as they
are (in colour when they have three channels), and the size a picture may take on a screen.

matplotlib is imported inside the functions that draw: this module is imported by paths that never draw.
"""

from __future__ import annotations

import math
import struct

import numpy as np

MAX_PIXELS = 2400  # the longest side of any picture: legible at 100% on a 1920×1080 screen after a scroll
DPI = 100
MARKERS = "o^sDvP*Xh<"
LEGEND_ENTRIES = 30  # more classes than this: a colour bar stands for the legend


def class_colours(count: int) -> list[tuple[float, float, float, float]]:
    """A colour per class, told apart at a glance: tab10 up to 10 classes, tab20 up to 20, then hues
    spread evenly over a rainbow (neighbouring classes get neighbouring hues)."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](index) for index in range(count)]
    if count <= 20:
        return [colormaps["tab20"](index) for index in range(count)]
    return [colormaps["turbo"](0.05 + 0.9 * index / (count - 1)) for index in range(count)]


def class_regions(count: int):
    """(colour map, norm) that paint the integer class k in class_colours(count)[k]."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    colours = class_colours(max(count, 2))
    return ListedColormap(colours), BoundaryNorm(np.arange(len(colours) + 1) - 0.5, len(colours))


def class_names_of(prepared) -> list[str]:
    names = prepared.dataset.class_names or []
    return names if names else ["0", "1"]


def scatter_classes(axis, x: np.ndarray, labels: np.ndarray | None, names: list[str], size: float = 14,
                    edge: float = 0.4, unlabelled: str = "training points") -> None:
    """Points coloured (and shaped) by class, each class labelled for the legend; labels None: one
    kind of point (regression), labelled unlabelled."""
    if labels is None:
        axis.scatter(x[:, 0], x[:, 1], color="white", s=size, edgecolors="black", linewidths=edge,
                     label=unlabelled)
        return
    colours = class_colours(len(names))
    if len(names) > LEGEND_ENTRIES:  # a colour bar names them: one call per marker shape, not per class
        labels = np.asarray(labels).astype(int)
        for shape, marker in enumerate(MARKERS):
            chosen = labels % len(MARKERS) == shape
            if chosen.any():
                axis.scatter(x[chosen, 0], x[chosen, 1], color=np.asarray(colours)[labels[chosen]], marker=marker,
                             s=size, edgecolors="black", linewidths=edge)
        return
    for label, name in enumerate(names):
        chosen = labels == label
        if chosen.any():
            axis.scatter(x[chosen, 0], x[chosen, 1], color=colours[label], marker=MARKERS[label % len(MARKERS)],
                         s=size, edgecolors="black", linewidths=edge, label=f"class {name}")


def class_legend(figure, axis, names: list[str], title: str = "true class", outside: bool = True) -> None:
    """The classes' colours, named: a legend (beside the axis when outside) up to LEGEND_ENTRIES classes,
    else a colour bar from the first class to the last."""
    if len(names) > LEGEND_ENTRIES:
        from matplotlib.cm import ScalarMappable

        colours, norm = class_regions(len(names))
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=axis, fraction=0.046, pad=0.02)
        ticks = np.unique(np.linspace(0, len(names) - 1, 8).round().astype(int))
        bar.set_ticks(ticks, labels=[names[tick] for tick in ticks])
        bar.minorticks_off()
        bar.set_label(f"{title}: {len(names)} classes", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        return
    columns = max(1, math.ceil(len(names) / 15))
    if outside:
        axis.legend(title=title, fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1),
                    borderaxespad=0, ncol=columns, framealpha=0.9)
    else:
        axis.legend(title=title, fontsize=8, title_fontsize=8, loc="best", ncol=columns, framealpha=0.85)


def legend_handles(names: list[str], with_none: bool = False, shaped: bool = True) -> list:
    """Marker handles in each class's colour (and shape, when shaped), for a legend of its own (a
    figure-wide one); up to LEGEND_ENTRIES classes."""
    from matplotlib.lines import Line2D

    colours = class_colours(len(names))
    if with_none:
        return [Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="black",
                       label="training points")]
    return [Line2D([], [], linestyle="none", marker=MARKERS[label % len(MARKERS)] if shaped else "o", markersize=6,
                   markerfacecolor=colours[label], markeredgecolor="black", markeredgewidth=0.5,
                   label=f"class {name}") for label, name in enumerate(names[:LEGEND_ENTRIES])]


def picture_of(row: np.ndarray, image_shape: tuple[int, ...], low: float, high: float) -> tuple[np.ndarray, dict]:
    """One image row as imshow shows it: (height, width, 3) in 0..1 for colour images, else the grey
    pixels with a grey scale from low (black) to high (white): the picture as it is, never inverted."""
    image = np.asarray(row, dtype=np.float64).reshape(image_shape)
    span = (high - low) or 1.0
    if image.ndim == 3 and image.shape[2] == 3:
        return np.clip((image - low) / span, 0, 1), {}
    return image.reshape(image_shape[0], image_shape[1], -1).mean(axis=2), {"cmap": "gray", "vmin": low,
                                                                              "vmax": high}


def is_colour(image_shape: tuple[int, ...] | None) -> bool:
    return image_shape is not None and len(image_shape) == 3 and image_shape[2] == 3


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, read from its header."""
    return struct.unpack(">II", png[16:24])


def largest_figure(columns: float, rows: float) -> float:
    """The factor (at most 1) that keeps a figure of columns × rows inches within MAX_PIXELS a side."""
    return min(1.0, MAX_PIXELS / DPI / max(columns, rows, 1e-9))
