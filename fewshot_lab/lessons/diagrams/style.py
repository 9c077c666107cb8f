"""The look every schematic diagram shares: one small palette, a canvas measured in inches, boxes, arrows and labels.

Colours keep one meaning across the diagrams:
    blue    the support set, and the inner loop that adapts on it
    orange  the query set, and what is predicted for it
    green   what is meta-learned (meta-parameters, the outer loop, the slow weights)
    purple  a memory and the attention that reads it
    red     losses
    grey    anything else (inputs, plain data)
Fonts are large enough to read on a projector. A label may carry the book's Chinese term beside the English one,
drawn only when an installed font has the glyphs (term()); otherwise the label is English alone.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
from matplotlib import colors, font_manager, ft2font
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

PALETTE = {
    "blue": "#2f6fab",
    "orange": "#e07b24",
    "green": "#3a8f3a",
    "purple": "#7b52ab",
    "red": "#c0392b",
    "grey": "#6b6b6b",
}
TEXT_SIZE = 16  # points: boxes and labels
SMALL_SIZE = 13  # points: notes and formulas beside arrows
TITLE_SIZE = 20


@functools.cache
def chinese_font() -> str | None:
    """The name of an installed font that draws the chapter's Chinese terms with glyphs of their own, or None."""
    needed = [
        ord(character) for character in "元学习训练验证测试支持集查询内外层循环与控制器读写头优化共同初始点注意力"
    ]
    for entry in font_manager.fontManager.ttflist:
        try:
            charmap = ft2font.FT2Font(entry.fname).get_charmap()
        except (OSError, RuntimeError):
            continue
        glyphs = {charmap.get(code) for code in needed}  # a fallback font maps every code to a few placeholders
        if None not in glyphs and len(glyphs) == len(set(needed)):
            return entry.name
    return None


def term(english: str, chinese: str) -> str:
    """'english (chinese)' when a font can draw the Chinese, else 'english'."""
    return f"{english} ({chinese})" if chinese_font() else english


def _family() -> list[str]:
    """The default font family, falling back on the Chinese font (if any) for the glyphs it lacks."""
    return [*plt.rcParams["font.family"], *([chinese_font()] if chinese_font() else [])]


def tint(colour: str, amount: float = 0.82) -> tuple[float, float, float]:
    """`colour` mixed with white: amount 0 is the colour itself, 1 is white."""
    red, green, blue = colors.to_rgb(PALETTE.get(colour, colour))
    return (red + (1 - red) * amount, green + (1 - green) * amount, blue + (1 - blue) * amount)


def canvas(width: float, height: float, title: str) -> tuple[Figure, plt.Axes]:
    """A figure of width x height inches whose axes fill it, one data unit per inch, no ticks, a title on top."""
    figure = plt.figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    label(ax, width / 2, height - 0.4, title, size=TITLE_SIZE, weight="bold")
    return figure, ax


def label(ax, x: float, y: float, text: str, colour: str = "black", size: float = TEXT_SIZE, **options):
    """Text centred at (x, y) unless `options` say otherwise (ha, va, weight, rotation...)."""
    options = {"ha": "center", "va": "center", **options}
    return ax.text(x, y, text, color=PALETTE.get(colour, colour), fontsize=size, fontfamily=_family(), **options)


def box(
    ax,
    x: float,
    y: float,
    width: float,
    height: float,
    text: str = "",
    colour: str = "grey",
    *,
    kind: str | None = None,
    size: float = TEXT_SIZE,
    filled: bool = True,
    dashed: bool = False,
):
    """A rounded box centred at (x, y) with `text` in it. `kind` tags it (its gid) so that tests can count boxes."""
    patch = FancyBboxPatch(
        (x - width / 2, y - height / 2),
        width,
        height,
        boxstyle=f"round,pad=0,rounding_size={min(0.12, width / 4, height / 4)}",
        facecolor=tint(colour) if filled else "none",
        edgecolor=PALETTE[colour],
        linewidth=2,
        linestyle="--" if dashed else "-",
        gid=kind,
    )
    ax.add_patch(patch)
    if text:
        label(ax, x, y, text, size=size)
    return patch


def arrow(ax, start, end, colour: str = "grey", *, dashed: bool = False, bend: float = 0.0, width: float = 2.0):
    """An arrow from `start` to `end` (points in inches); bend > 0 curves it to the left of its direction."""
    patch = FancyArrowPatch(
        start,
        end,
        arrowstyle="-|>",
        mutation_scale=22,
        linewidth=width,
        linestyle="--" if dashed else "-",
        color=PALETTE[colour],
        connectionstyle=f"arc3,rad={bend}",
        shrinkA=0,
        shrinkB=0,
        zorder=3,
    )
    ax.add_patch(patch)
    return patch


def route(ax, points, colour: str = "grey", *, width: float = 2.0):
    """A path through `points` made of straight segments, with an arrowhead on the last one."""
    xs, ys = zip(*points[:-1])
    ax.add_line(Line2D(xs, ys, color=PALETTE[colour], linewidth=width, solid_joinstyle="round"))
    return arrow(ax, points[-2], points[-1], colour, width=width)
