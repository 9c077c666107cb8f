"""glyphs: a many-alphabet, handwriting-like character set that the package draws for itself.

Few-shot learning needs *many* classes with *few* examples each, grouped into alphabets so that
whole alphabets can be held out for testing. Omniglot is the classic such dataset, but it has to
be downloaded. glyphs is a stand-in that needs no network: every install of matplotlib ships the
DejaVu and STIX fonts, which between them draw Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew,
Arabic, N'Ko, Tifinagh, Canadian syllabics, Braille, mathematical symbols, arrows and more.

How the dataset is made:

1. Classes are characters (Unicode codepoints); groups ("alphabets") are scripts or Unicode blocks,
   listed in ALPHABETS together with the meta-split each alphabet belongs to.
2. Each candidate character is drawn once, plainly ("canonical render"), to throw out what would
   make a poor class: blanks, combining marks, dots and commas (too little ink or too small), and
   look-alikes (Latin A, Greek Alpha and Cyrillic A are the same shape; so are O and o, or I and l,
   once scaled to the same size). Each alphabet then keeps at most MAX_CLASSES_PER_ALPHABET characters.
3. Every character is drawn SAMPLES_PER_CLASS times, as if by different people (Omniglot has 20
   drawers): a different font each time, a tilted, sheared, stretched and shifted pen, thicker or
   thinner strokes, a gentle wobble, pen gaps and specks of dirt on the paper. See Handwriting.
4. The pictures (dark ink on light paper) go through the shared Preprocessing, exactly as scanned
   pictures would, and the arrays are cached as an .npz in the data folder.

Everything is seeded by (SEED, codepoint, sample), so the same arrays come out on every run and
one character can be drawn alone with render_class. Generation happens only when load_glyphs is
first called for an image size; importing this module does no work.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageDraw, ImageFont

from fewshot_lab import paths
from fewshot_lab.data.dataset import ClassInfo, FewShotDataset, cached_arrays
from fewshot_lab.data.images import Preprocessing

__all__ = ["is_cached", "load_glyphs", "render_class"]

VERSION = "v2"  # bump when anything below changes what is drawn, so old caches are not reused
SEED = 1623  # Omniglot's number of characters
SAMPLES_PER_CLASS = 20
MAX_CLASSES_PER_ALPHABET = 35

CANONICAL_FONT_SIZE = 64  # pixels per em when judging a character
CANONICAL_SIZE = 32  # side of the canonical render used to find look-alikes
MIN_EXTENT = 0.30  # the longer side of the ink's bounding box, as a fraction of the em
MIN_INK = 0.025  # the ink's area, as a fraction of the em square
NEAR_DUPLICATE = 0.80  # canonical renders correlated above this are the same class
FILL = 0.75  # the longer side of a glyph spans this fraction of the picture
RENDER_SCALE = 2  # draw at this multiple of image_size, then let Preprocessing shrink

# The fonts a "drawer" may write with, in order of preference for the canonical render. Left out:
# the Display cuts (a few dozen glyphs), the STIX size variants and private-use glyphs, the Computer
# Modern fonts (their character maps follow TeX's encoding, not Unicode) and LastResort (it draws
# a placeholder box for every codepoint).
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
)


@dataclass(frozen=True)
class Alphabet:
    """A group of classes: a script or Unicode block, as inclusive codepoint ranges, in one meta-split."""

    name: str
    split: str
    ranges: tuple[tuple[int, int], ...]

    def codepoints(self) -> list[int]:
        return [code for first, last in self.ranges for code in range(first, last + 1)]


# Earlier alphabets win look-alike contests: Latin has "A", so Greek and Cyrillic lose theirs (even
# when the per-alphabet cap then leaves "A" out of the Latin classes).
ALPHABETS = (
    Alphabet("Latin", "train", ((0x0030, 0x0039), (0x0041, 0x005A), (0x0061, 0x007A))),
    Alphabet("Greek", "train", ((0x0391, 0x03C9), (0x03CF, 0x03FF))),
    Alphabet("Cyrillic", "train", ((0x0400, 0x052F), (0xA640, 0xA69F))),
    Alphabet("Armenian", "test", ((0x0531, 0x0587),)),
    Alphabet("Georgian", "train", ((0x10D0, 0x10FF),)),
    Alphabet("Georgian Asomtavruli", "val", ((0x10A0, 0x10CD),)),
    Alphabet("Georgian Nuskhuri", "train", ((0x2D00, 0x2D2D),)),
    Alphabet("Hebrew", "train", ((0x05D0, 0x05EA),)),
    Alphabet("Arabic", "train", ((0x0620, 0x064A), (0x066E, 0x06D3))),
    Alphabet("N'Ko", "test", ((0x07C0, 0x07FA),)),
    Alphabet("Lao", "train", ((0x0E81, 0x0EDF),)),
    Alphabet("Canadian syllabics", "train", ((0x1400, 0x167F),)),
    Alphabet("Ogham", "val", ((0x1680, 0x169C),)),
    Alphabet("Tifinagh", "test", ((0x2D30, 0x2D7F),)),
    Alphabet("Lisu", "train", ((0xA4D0, 0xA4FF),)),
    Alphabet("Old Italic", "test", ((0x10300, 0x1032F),)),
    Alphabet("IPA", "train", ((0x0250, 0x02AF), (0x1D00, 0x1DBF))),
    Alphabet("Latin extended", "train", ((0x0180, 0x024F), (0x2C60, 0x2C7F), (0xA720, 0xA7FF))),
    Alphabet("Fraktur", "val", ((0x1D504, 0x1D537), (0x1D56C, 0x1D59F))),
    Alphabet("Script", "train", ((0x1D49C, 0x1D503),)),
    Alphabet("Double-struck", "train", ((0x1D538, 0x1D56B),)),
    Alphabet("Letterlike", "train", ((0x2100, 0x214F),)),
    Alphabet("Currency", "val", ((0x20A0, 0x20CF),)),
    Alphabet("Braille", "test", ((0x2800, 0x28FF),)),
    Alphabet("Math operators", "train", ((0x2200, 0x22FF),)),
    Alphabet("Supplemental math", "train", ((0x2A00, 0x2AFF),)),
    Alphabet("Misc math", "val", ((0x27C0, 0x27EF), (0x2980, 0x29FF))),
    Alphabet("Arrows", "test", ((0x2190, 0x21FF), (0x27F0, 0x27FF), (0x2900, 0x297F), (0x2B00, 0x2B4F))),
    Alphabet("Technical", "test", ((0x2300, 0x23FF),)),
    Alphabet("Box drawing", "train", ((0x2500, 0x257F),)),
    Alphabet("Geometric shapes", "train", ((0x25A0, 0x25FF),)),
    Alphabet("Misc symbols", "train", ((0x2600, 0x26FF),)),
    Alphabet("Dingbats", "test", ((0x2700, 0x27BF),)),
)

# Unicode general categories worth a class: letters (but not modifier letters, which are small raised
# copies of other letters), numbers, symbols and punctuation; not marks, spaces or control characters.
DRAWABLE_CATEGORIES = ("Lu", "Ll", "Lt", "Lo", "N", "S", "P")


@dataclass(frozen=True)
class Handwriting:
    """How much one drawer's copy of a character differs from another's (standard deviations unless noted).

    Lengths are fractions of the picture's side, so a sample looks the same at every image size.
    """

    rotation_degrees: float = 10.0
    shear: float = 0.2
    stretch: float = 0.15  # log of the width/height ratio
    scale: float = 0.10  # log of the overall size
    shift: float = 0.05
    max_stroke: float = 0.025  # ink added on each side of a stroke: uniformly 0 up to this fraction of the side
    wave_amplitude: float = 0.02  # a slow wobble of the whole drawing
    max_gaps: int = 2  # pen lifts: small breaks cut into the strokes (0 up to this many)
    gap_radius: float = 0.04
    mean_specks: float = 2.0  # dirt on the paper: how many specks on average
    speck_size: float = 0.035


HANDWRITING = Handwriting()


@dataclass(frozen=True)
class Font:
    name: str
    path: Path
    codepoints: frozenset[int] = field(repr=False)


@functools.cache
def fonts() -> tuple[Font, ...]:
    """The fonts in FONT_FILES, each with the set of codepoints it really draws."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    found = []
    for file in FONT_FILES:
        path = folder / file
        if path.exists():
            charmap = FT2Font(str(path)).get_charmap()  # {codepoint: glyph index}; index 0 is "missing"
            found.append(Font(path.stem, path, frozenset(code for code, glyph in charmap.items() if glyph)))
    if not found:
        raise RuntimeError(f"no usable fonts in {folder}; glyphs needs matplotlib's bundled DejaVu fonts")
    return tuple(found)


def fonts_for(codepoint: int) -> list[Font]:
    return [font for font in fonts() if codepoint in font.codepoints]


@functools.cache
def truetype(path: Path, size: int) -> ImageFont.FreeTypeFont:
    # The basic layout engine draws one character the same way whether or not libraqm is installed.
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def draw_glyph(codepoint: int, font: Font, size: int, stroke: int = 0) -> np.ndarray:
    """The character's ink, cropped to its bounding box: float32 [height, width] in [0, 1], ink high.
    Empty (shape [0, 0]) when the font draws nothing there."""
    canvas = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(canvas).text(
        (1.5 * size, 1.5 * size),
        chr(codepoint),
        font=truetype(font.path, size),
        fill=255,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )
    box = canvas.getbbox()
    if box is None:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(canvas.crop(box), dtype=np.float32) / 255.0


def glyph_extent(codepoint: int, font: Font, size: int) -> int:
    """The longer side of the character's bounding box in pixels, measured without drawing it."""
    left, top, right, bottom = truetype(font.path, size).getbbox(chr(codepoint), anchor="mm")
    return max(right - left, bottom - top, 1)


def bilinear_sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Read `image` [height, width] at fractional positions x, y (any matching shape); zero outside."""
    padded = np.pad(image, 1)  # [height + 2, width + 2]
    x = np.clip(x + 1, 0, padded.shape[1] - 1.001)
    y = np.clip(y + 1, 0, padded.shape[0] - 1.001)
    left, top = np.floor(x).astype(int), np.floor(y).astype(int)
    right_weight, bottom_weight = x - left, y - top
    upper = padded[top, left] * (1 - right_weight) + padded[top, left + 1] * right_weight
    lower = padded[top + 1, left] * (1 - right_weight) + padded[top + 1, left + 1] * right_weight
    return upper * (1 - bottom_weight) + lower * bottom_weight


@functools.cache
def pixel_grid(side: int) -> np.ndarray:
    """The (y, x) coordinates of every pixel of a `side` x `side` picture: float32 [2, side, side]."""
    grid = np.mgrid[0:side, 0:side].astype(np.float32)
    grid.flags.writeable = False
    return grid


def place(
    glyph: np.ndarray,
    side: int,
    pen: np.ndarray | None = None,
    shift: tuple[float, float] = (0.0, 0.0),
    wobble: Callable | None = None,
) -> np.ndarray:
    """Centre the glyph on a `side` x `side` picture, scaled so that its longer side spans FILL of it.

    pen:    a 2x2 matrix (rotation, shear, stretch) applied about the glyph's centre; None for upright
    shift:  (x, y) offset of the centre in pixels
    wobble: a function (x, y) -> (dx, dy), a displacement field over the picture; None for none
    Returns the ink, [side, side], by looking up where each picture pixel comes from in the glyph.
    """
    y, x = pixel_grid(side)
    if wobble is not None:
        dx, dy = wobble(x, y)
        x, y = x + dx, y + dy
    scale = FILL * side / max(glyph.shape)
    to_glyph = np.linalg.inv(scale * (np.eye(2) if pen is None else pen))
    centred = np.stack([x - (side - 1) / 2 - shift[0], y - (side - 1) / 2 - shift[1]])  # [2, side, side]
    glyph_x, glyph_y = np.einsum("ij,jhw->ihw", to_glyph, centred)
    return bilinear_sample(glyph, glyph_x + (glyph.shape[1] - 1) / 2, glyph_y + (glyph.shape[0] - 1) / 2)


def canonical_glyph(codepoint: int) -> np.ndarray:
    """The character in its preferred font, plain: float32 [height, width] at CANONICAL_FONT_SIZE."""
    covering = fonts_for(codepoint)
    if not covering:
        return np.zeros((0, 0), dtype=np.float32)
    return draw_glyph(codepoint, covering[0], CANONICAL_FONT_SIZE)


def canonical_render(codepoint: int) -> np.ndarray:
    """The plain character centred and scaled to fit: [CANONICAL_SIZE, CANONICAL_SIZE], ink high.
    Two characters whose canonical renders correlate above NEAR_DUPLICATE count as the same class."""
    picture = place(canonical_glyph(codepoint), 2 * CANONICAL_SIZE)  # [2S, 2S]
    return picture.reshape(CANONICAL_SIZE, 2, CANONICAL_SIZE, 2).mean(axis=(1, 3))  # average 2x2 blocks


def standardise(renders: np.ndarray) -> np.ndarray:
    """Flatten renders [n, S, S] to [n, S * S] with zero mean and unit length, so that the dot product
    of two rows is their correlation."""
    flat = renders.reshape(len(renders), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-8)


def is_drawable(codepoint: int) -> bool:
    """A real, visible, big-enough character: no spaces or combining marks, no dots or commas."""
    if not unicodedata.category(chr(codepoint)).startswith(DRAWABLE_CATEGORIES):
        return False
    glyph = canonical_glyph(codepoint)
    if glyph.size == 0:
        return False
    extent = max(glyph.shape) / CANONICAL_FONT_SIZE
    ink = glyph.sum() / CANONICAL_FONT_SIZE**2
    return extent >= MIN_EXTENT and ink >= MIN_INK


def evenly_spaced(items: list, count: int) -> list:
    """At most `count` items spread across the list, so a capped alphabet still spans its whole block."""
    if len(items) <= count:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def keep_distinct(renders: np.ndarray, earlier: np.ndarray) -> list[int]:
    """Indices of the standardised renders [n, S * S], in order, that are neither a near-duplicate of an
    `earlier` render [m, S * S] nor of a render kept before them."""
    correlation = renders @ np.concatenate([earlier, renders]).T  # [n, m + n]: with the earlier ones, then each other
    chosen: list[int] = []
    for index in range(len(renders)):
        compared = np.concatenate([np.arange(len(earlier)), len(earlier) + np.array(chosen, dtype=int)])
        if correlation[index, compared].max(initial=-1.0) <= NEAR_DUPLICATE:
            chosen.append(index)
    return chosen


@functools.cache
def select_classes() -> tuple[tuple[int, str], ...]:
    """The dataset's classes as (codepoint, alphabet name), alphabet by alphabet in ALPHABETS order."""
    selected: list[tuple[int, str]] = []
    earlier = np.zeros((0, CANONICAL_SIZE**2))  # standardised renders of earlier alphabets' distinct characters
    for alphabet in ALPHABETS:
        candidates = [code for code in alphabet.codepoints() if is_drawable(code)]
        renders = standardise(np.stack([canonical_render(code) for code in candidates]))  # [candidates, S * S]
        distinct = keep_distinct(renders, earlier)
        selected += [(candidates[index], alphabet.name) for index in evenly_spaced(distinct, MAX_CLASSES_PER_ALPHABET)]
        earlier = np.concatenate([earlier, renders[distinct]])
    return tuple(selected)


def wave(rng: np.random.Generator, side: int):
    """A smooth random displacement field: one slow sine wave along a random direction for each axis."""
    amplitude = HANDWRITING.wave_amplitude * side * rng.normal(size=2)
    direction = rng.normal(size=(2, 2))
    frequency = rng.uniform(0.5, 1.5, size=2) * 2 * np.pi / side  # 0.5 to 1.5 waves across the picture
    phase = rng.uniform(0, 2 * np.pi, size=2)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)

    def displacement(x, y):
        along = [frequency[i] * (direction[i, 0] * x + direction[i, 1] * y) + phase[i] for i in range(2)]
        return amplitude[0] * np.sin(along[0]), amplitude[1] * np.sin(along[1])

    return displacement


def pen_matrix(rng: np.random.Generator) -> np.ndarray:
    """A random 2x2 rotation @ shear @ stretch: how a drawer's hand tilts and squashes the character."""
    angle = np.deg2rad(HANDWRITING.rotation_degrees * rng.normal())
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, HANDWRITING.shear * rng.normal()], [0.0, 1.0]])
    size = np.exp(HANDWRITING.scale * rng.normal())
    stretch = np.exp(HANDWRITING.stretch * rng.normal() / 2)
    return rotation @ shear @ np.diag([size * stretch, size / stretch])


def add_gaps_and_specks(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cut a few small breaks into the strokes and sprinkle a few specks on the paper."""
    side = ink.shape[0]
    y, x = pixel_grid(side)
    stroke_y, stroke_x = np.nonzero(ink > 0.5)  # where a gap can fall
    gaps = rng.integers(0, HANDWRITING.max_gaps + 1)
    for centre in rng.integers(len(stroke_x), size=gaps) if len(stroke_x) else []:
        distance = np.hypot(x - stroke_x[centre], y - stroke_y[centre])  # [side, side]
        ink = ink * np.clip(distance / (HANDWRITING.gap_radius * side) - 0.5, 0, 1)
    speck = max(1, round(HANDWRITING.speck_size * side))
    for _ in range(rng.poisson(HANDWRITING.mean_specks)):
        top, left = rng.integers(0, side - speck, size=2)
        spot = ink[top : top + speck, left : left + speck]  # a view: writing to it marks the paper
        np.maximum(spot, rng.uniform(0.3, 0.9), out=spot)
    return ink


def render_sample(codepoint: int, index: int, image_size: int) -> np.ndarray:
    """Sample number `index` of one character, as Preprocessing stores it: uint8 [1, image_size, image_size]."""
    rng = np.random.default_rng([SEED, codepoint, index])
    side = RENDER_SCALE * image_size
    covering = fonts_for(codepoint)
    font = covering[rng.integers(len(covering))]
    pen_width = rng.uniform(0, HANDWRITING.max_stroke) * side  # extra stroke width in picture pixels
    enlargement = FILL * side / glyph_extent(codepoint, font, side)  # how much `place` will scale the glyph
    glyph = draw_glyph(codepoint, font, side, stroke=round(pen_width / enlargement))
    shift = HANDWRITING.shift * side * rng.normal(size=2)
    ink = place(glyph, side, pen_matrix(rng), tuple(shift), wave(rng, side))  # [side, side]
    ink = add_gaps_and_specks(ink, rng)
    paper = Image.fromarray(np.round(255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8))  # dark ink on light paper
    return Preprocessing(image_size, channels=1, invert=True)(paper)


def check_image_size(image_size) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size must be an int of at least 8 pixels, got {image_size!r}")


def render_class(codepoint: int, samples: int = SAMPLES_PER_CLASS, image_size: int = 28) -> np.ndarray:
    """Draw one character `samples` times: uint8 [samples, 1, image_size, image_size], ink high.

    Deterministic, and sample i is the same whatever `samples` is, so render_class(c, 5) is the
    first five of render_class(c, 20).
    """
    check_image_size(image_size)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    if isinstance(codepoint, bool) or not isinstance(codepoint, int) or not 0 <= codepoint <= 0x10FFFF:
        raise ValueError(f"codepoint must be an int between 0 and 0x10FFFF, got {codepoint!r}")
    if not is_drawable(codepoint):
        raise ValueError(
            f"U+{codepoint:04X} is not a drawable character: none of the fonts draws it, "
            f"or it is a space, a combining mark or too small (a dot, a comma)"
        )
    return np.stack([render_sample(codepoint, index, image_size) for index in range(samples)])


def cache_path(image_size: int) -> Path:
    return paths.data_dir() / "glyphs" / f"glyphs-{VERSION}-{image_size}.npz"


def is_cached(image_size: int = 28) -> bool:
    """Whether load_glyphs(image_size) will read a cached file instead of drawing the dataset."""
    check_image_size(image_size)
    return cache_path(image_size).exists()


def class_name(codepoint: int, alphabet: str) -> str:
    return f"{alphabet}/U+{codepoint:04X} {chr(codepoint)}"


def generate(image_size: int) -> tuple[np.ndarray, np.ndarray, list[ClassInfo]]:
    """Draw the whole dataset: images uint8 [classes * SAMPLES_PER_CLASS, 1, S, S], targets int64, classes."""
    selected = select_classes()
    images = np.concatenate([render_class(code, SAMPLES_PER_CLASS, image_size) for code, _ in selected])
    targets = np.repeat(np.arange(len(selected)), SAMPLES_PER_CLASS)  # [classes * SAMPLES_PER_CLASS]
    classes = [ClassInfo(class_name(code, alphabet), alphabet) for code, alphabet in selected]
    return images, targets, classes


def splits_for(classes: list[ClassInfo]) -> dict[str, list[int]]:
    """Each class goes to the meta-split of its alphabet, as listed in ALPHABETS."""
    split_of = {alphabet.name: alphabet.split for alphabet in ALPHABETS}
    splits: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for index, info in enumerate(classes):
        splits[split_of[info.group]].append(index)
    return splits


def load_glyphs(image_size: int = 28) -> FewShotDataset:
    """The glyphs dataset at `image_size` pixels square, drawn on first use and cached afterwards."""
    check_image_size(image_size)
    images, targets, classes = cached_arrays(cache_path(image_size), lambda: generate(image_size))
    return FewShotDataset(
        "glyphs", images, targets, classes, splits_for(classes), Preprocessing(image_size, channels=1, invert=True)
    )
