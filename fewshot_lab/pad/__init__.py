"""A drawing pad for JupyterLab: draw symbols with a mouse, a pen or a finger, and hand them to a few-shot learner.

The canvas lives in the browser (pad.js, an anywidget module shipped with the package, no build step). A stroke is
drawn there point by point and reaches the kernel once, when it ends, as a list of points in [0, 1] x [0, 1]; so
drawing stays smooth while the kernel is busy. The kernel renders the strokes into a picture (`strokes_to_image`):
white paper and black ink, like a scanned Omniglot character, so that a drawing goes through the same
preprocessing as any picture given to `fewshot_lab.load(...).predict`.

    pad = DrawingPad(["circle", "cross", "wave"])
    pad                                   # draw, then press "add to circle", ...
    pictures, labels = pad.support()      # every example added, with its class
    learner.predict(pictures, labels, [pad.drawing()])
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import anywidget
import traitlets
from PIL import Image, ImageDraw

SIZE = 105  # pixels of a rendered drawing, an Omniglot character's size
PEN = 0.03  # the pen's width as a fraction of the image's side (3 pixels at 105, as Omniglot's strokes)
HERE = Path(__file__).parent


def strokes_to_image(strokes, size: int = SIZE, pen: float = PEN) -> Image.Image:
    """Strokes, each a list of [x, y] points in [0, 1] (x to the right, y down), as a greyscale picture of
    size x size pixels: paper 255, ink 0, round pen ends."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    radius = max(pen * size / 2, 0.5)
    for stroke in _checked_strokes(strokes):
        points = [(x * (size - 1), y * (size - 1)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=0, width=max(round(2 * radius), 1), joint="curve")
        for x, y in (points[0], points[-1]):  # round ends; a stroke of one point is a dot
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return image


def shape_strokes(shape: str, centre=(0.5, 0.5), radius: float = 0.3) -> list[list[list[float]]]:
    """The strokes of a simple symbol, "circle", "cross" or "wave", at `centre` with `radius` (in the pad's [0, 1]
    coordinates): drawings made by code, for a demo to start from and for tests."""
    x, y = centre
    if shape == "circle":
        return [
            [[x + radius * math.cos(math.tau * k / 24), y + radius * math.sin(math.tau * k / 24)] for k in range(25)]
        ]
    if shape == "cross":
        return [
            [[x - radius, y - radius], [x + radius, y + radius]],
            [[x + radius, y - radius], [x - radius, y + radius]],
        ]
    if shape == "wave":
        return [[[x - radius + k * radius / 2, y + (0.6 if k % 2 else -0.6) * radius] for k in range(5)]]
    raise ValueError(f"no shape {shape!r}: choose circle, cross or wave")


def _checked_strokes(strokes) -> list[list[tuple[float, float]]]:
    if not isinstance(strokes, (list, tuple)):
        raise TypeError(f"strokes must be a list of strokes, lists of [x, y] points; got {type(strokes).__name__}")
    checked = []
    for number, stroke in enumerate(strokes):
        if not isinstance(stroke, (list, tuple)) or not stroke:
            raise ValueError(f"stroke {number} must be a non-empty list of [x, y] points")
        points = []
        for point in stroke:
            if (
                not isinstance(point, (list, tuple))
                or len(point) != 2
                or not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in point)
            ):
                raise ValueError(f"stroke {number} has the point {point!r}; a point is [x, y], two numbers")
            if not all(0 <= value <= 1 for value in point):
                raise ValueError(f"stroke {number} has the point {list(point)}, outside the pad: x and y are in [0, 1]")
            points.append((float(point[0]), float(point[1])))
        checked.append(points)
    return checked


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class DrawingPad(anywidget.AnyWidget):
    """A canvas, the buttons clear, undo and "add to <class>", and a row of thumbnails per class.

    `examples[label]` holds the pictures added to each class; `drawing()` is what is on the canvas now."""

    _esm = HERE / "pad.js"
    _css = HERE / "pad.css"

    strokes = traitlets.List().tag(sync=True)  # the drawing on the canvas: strokes of [x, y] points in [0, 1]
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)  # the classes, one "add to" button each
    thumbnails = traitlets.Dict().tag(sync=True)  # label -> PNG data URLs of its examples
    message = traitlets.Unicode("").tag(sync=True)  # one line under the pad: why an action was refused

    def __init__(self, labels, size: int = SIZE, **kwargs):
        labels = list(labels)
        if not labels or not all(isinstance(label, str) and label.strip() for label in labels):
            raise ValueError(f"labels must be one or more non-empty class names; got {labels!r}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must differ from one another; got {labels!r}")
        super().__init__(labels=labels, thumbnails={label: [] for label in labels}, **kwargs)
        self.size = size
        self.examples: dict[str, list[Image.Image]] = {label: [] for label in labels}
        self.on_msg(self._on_message)

    def __repr__(self) -> str:
        return f"DrawingPad(labels={self.labels!r})"

    def drawing(self, strokes=None) -> Image.Image:
        """The drawing on the canvas (or these strokes) as a picture, paper white and ink black."""
        strokes = self.strokes if strokes is None else strokes
        if not strokes:
            raise ValueError("the pad is empty: draw a symbol first")
        return strokes_to_image(strokes, self.size)

    def add(self, label: str, strokes=None) -> Image.Image:
        """Add the drawing on the canvas (or these strokes, as the browser sends them) to the class `label` and
        show its thumbnail; a drawing taken from the canvas is cleared from it."""
        if label not in self.examples:
            raise ValueError(f"no class {label!r} on this pad; its classes: {', '.join(self.labels)}")
        picture = self.drawing(strokes)
        self.examples[label].append(picture)
        with self.hold_sync():  # the browser gets the thumbnail, the cleared canvas and message as one update
            self.thumbnails = {**self.thumbnails, label: [*self.thumbnails[label], _data_url(picture)]}
            if strokes is None:
                self.strokes = []
            self.message = ""
        return picture

    def clear(self) -> None:
        self.strokes = []

    def forget(self) -> None:
        """Forget every example of every class, and clear the canvas."""
        self.examples = {label: [] for label in self.labels}
        with self.hold_sync():
            self.thumbnails = {label: [] for label in self.labels}
            self.strokes = []
            self.message = ""

    def support(self) -> tuple[list[Image.Image], list[str]]:
        """Every example added, and its class: a support set for `predict`."""
        pictures = [picture for label in self.labels for picture in self.examples[label]]
        labels = [label for label in self.labels for _ in self.examples[label]]
        return pictures, labels

    def _on_message(self, _, content, buffers) -> None:
        if content.get("action") == "add":
            try:  # the drawing as the browser had it when the button was pressed; it cleared its canvas itself
                self.add(content.get("label"), content.get("strokes", self.strokes))
            except (TypeError, ValueError) as error:
                self.message = str(error)
