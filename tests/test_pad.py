"""The drawing pad (fewshot_lab.pad): strokes become pictures like scanned characters, classes collect examples,
and bad input is refused in the caller's words. Its browser side is shipped with the package."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from fewshot_lab.pad import HERE, SIZE, DrawingPad, strokes_to_image

HORIZONTAL = [[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]]  # a line across the middle, left to right


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image) < 128  # [size, size], True where the pen went


def test_a_stroke_is_drawn_where_it_went_and_nowhere_else():
    image = strokes_to_image([HORIZONTAL])
    assert image.mode == "L" and image.size == (SIZE, SIZE)
    drawn = ink(image)
    middle = round(0.5 * (SIZE - 1))
    assert drawn[middle, round(0.1 * (SIZE - 1)) : round(0.9 * (SIZE - 1)) + 1].all()  # the whole line
    rows = np.flatnonzero(drawn.any(axis=1))
    assert rows.min() >= middle - 3 and rows.max() <= middle + 3  # about 3 pixels thick (PEN)
    columns = np.flatnonzero(drawn.any(axis=0))
    assert columns.min() >= round(0.1 * (SIZE - 1)) - 2 and columns.max() <= round(0.9 * (SIZE - 1)) + 2
    dot = ink(strokes_to_image([[[0.25, 0.75]]]))  # one point: a dot
    assert dot[round(0.75 * (SIZE - 1)), round(0.25 * (SIZE - 1))] and 1 <= dot.sum() <= 16


def test_a_drawing_is_preprocessed_like_a_scanned_character(omniglot_small_dataset):
    """Omniglot's pictures are black ink on white paper; its preprocessing turns ink high. A drawing is the same."""
    drawing = strokes_to_image([HORIZONTAL, [[0.5, 0.1], [0.5, 0.9]]])  # a cross
    scan = omniglot_small_dataset.images[0]  # [C, S, S] uint8, ink high
    array = omniglot_small_dataset.preprocessing(drawing)  # [C, S, S]
    assert array.shape == tuple(scan.shape) and array.dtype == np.asarray(scan).dtype
    size = array.shape[-1]
    assert array[0, size // 2, size // 2] > array[0, 1, 1]  # the crossing is ink (high), a corner paper (low)
    assert (array > 127).mean() < 0.5  # mostly paper, as in a scan


@pytest.mark.parametrize(
    "strokes, message",
    [
        ("a line", "strokes must be a list of strokes"),
        ([[]], "stroke 0 must be a non-empty list"),
        ([[[0.1, 0.2, 0.3]]], r"stroke 0 has the point \[0.1, 0.2, 0.3\]; a point is \[x, y\]"),
        ([HORIZONTAL, [[0.5, 1.5]]], r"stroke 1 has the point \[0.5, 1.5\], outside the pad"),
        ([[[True, 0.5]]], "a point is"),
    ],
)
def test_bad_strokes_are_refused_in_the_callers_words(strokes, message):
    with pytest.raises((TypeError, ValueError), match=message):
        strokes_to_image(strokes)


def test_adding_a_drawing_keeps_it_in_its_class_shows_it_and_clears_the_pad():
    pad = DrawingPad(["circle", "cross"])
    pad.strokes = [HORIZONTAL]
    picture = pad.add("cross")
    assert pad.strokes == [] and pad.examples["cross"] == [picture] and pad.examples["circle"] == []
    (url,) = pad.thumbnails["cross"]
    assert url.startswith("data:image/png;base64,")
    shown = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert np.array_equal(np.asarray(shown), np.asarray(picture))
    pad.strokes = [[[0.2, 0.2], [0.8, 0.8]]]
    pad.add("circle")
    pictures, labels = pad.support()
    assert labels == ["circle", "cross"] and pictures[1] is picture


def test_the_browser_asks_to_add_through_a_message_and_hears_why_it_was_refused():
    pad = DrawingPad(["circle", "cross"])
    pad._on_message(pad, {"action": "add", "label": "circle"}, [])  # the "add to circle" button on an empty pad
    assert pad.message == "the pad is empty: draw a symbol first" and pad.examples["circle"] == []
    pad.strokes = [HORIZONTAL]
    pad._on_message(pad, {"action": "add", "label": "circle"}, [])
    assert pad.message == "" and len(pad.examples["circle"]) == 1
    # the request carries the drawing, so a stroke whose state update the browser held back is not lost
    pad._on_message(pad, {"action": "add", "label": "cross", "strokes": [HORIZONTAL, [[0.5, 0.1], [0.5, 0.9]]]}, [])
    assert np.array_equal(
        np.asarray(pad.examples["cross"][0]), np.asarray(strokes_to_image([HORIZONTAL, [[0.5, 0.1], [0.5, 0.9]]]))
    )
    pad._on_message(pad, {"action": "add", "label": "cross", "strokes": [[[2, 2]]]}, [])
    assert "outside the pad" in pad.message and len(pad.examples["cross"]) == 1


def test_a_pad_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="labels must be one or more non-empty class names"):
        DrawingPad([])
    with pytest.raises(ValueError, match="labels must differ"):
        DrawingPad(["a", "a"])
    pad = DrawingPad(["circle"])
    with pytest.raises(ValueError, match="the pad is empty: draw a symbol first"):
        pad.drawing()
    pad.strokes = [HORIZONTAL]
    with pytest.raises(ValueError, match="no class 'square' on this pad; its classes: circle"):
        pad.add("square")
    assert pad.strokes == [HORIZONTAL]  # nothing was taken from the pad


def test_the_browser_side_is_shipped_with_the_package():
    script = (HERE / "pad.js").read_text()
    assert "export default { render }" in script
    assert 'model.send({ action: "add", label, strokes: model.get("strokes") })' in script  # what _on_message reads
    assert "pointerup" in script and "save_changes" in script  # strokes reach the kernel when they end
    assert DrawingPad._esm is not None and DrawingPad._css is not None
