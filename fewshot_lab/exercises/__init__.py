"""Exercise checkers for the notebooks: run a learner's answer on cases they build, and say what is wrong.

A checker takes the learner's answer (a function, a tensor, a number), runs it on cases of its own, and
returns a Feedback that a notebook prints: either a success message, or what is wrong and a hint at why,

    ✗ Not yet: the shape of the prototypes is [5, 1, 64]; expected [5, 64]. Did you average over the
      shots dimension with keepdim=True?

A checker is a plain function decorated with @checker. Its body raises Mistake (through the helpers
below) at the first thing that is wrong, and returns the success message when everything is right:

    @checker
    def check_prototypes(prototypes):
        embeddings, labels = ...                         # a case the checker builds
        answer = call(prototypes, embeddings, labels)    # the learner's function, its errors reported
        expect(answer, class_means(embeddings, labels), "the prototypes",
               mistakes={"these are the mean of the whole support set, not one mean per class": wrong})
        return "Right: one mean embedding per class."

expect compares shapes, then values with a tolerance; when a wrong answer equals one of the `mistakes`
(typical wrong answers the checker computes), the message is that mistake's hint.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Feedback:
    """The result of a check: ok, and the message to show (printed as it is in a notebook)."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return ("✓ " if self.ok else "✗ Not yet: ") + self.message

    __repr__ = __str__


class Mistake(Exception):
    """Raised inside a checker at the first thing that is wrong; @checker turns it into a failed Feedback."""


def checker(check):
    """Turn check(answer) -> success message (raising Mistake when wrong) into answer -> Feedback."""

    @functools.wraps(check)
    def run(*args, **kwargs) -> Feedback:
        try:
            return Feedback(True, check(*args, **kwargs))
        except Mistake as mistake:
            return Feedback(False, str(mistake))

    return run


def call(function, *args, name: str | None = None):
    """function(*args) with tensor arguments copied (so the answer cannot change the checker's cases); an
    exception in the learner's code, or a missing return, becomes a Mistake that says so."""
    name = name or getattr(function, "__name__", "your function")
    if not callable(function):
        raise Mistake(
            f"expected a function, got {type(function).__name__}: pass the function itself, without calling it"
        )
    args = [arg.clone() if isinstance(arg, torch.Tensor) else arg for arg in args]
    try:
        result = function(*args)
    except NotImplementedError as error:
        raise Mistake(f"{name} is not written yet ({error or 'NotImplementedError'}): fill in the TODO") from None
    except Exception as error:  # the learner's code failed: report it in their terms
        raise Mistake(f"{name} raised {type(error).__name__}: {error}") from None
    if result is None:
        raise Mistake(f"{name} returned None: did you forget the `return`?")
    return result


def shape_of(value) -> str:
    """[5, 64] for a tensor of that shape."""
    return "[" + ", ".join(str(size) for size in value.shape) + "]"


def as_tensor(answer, what: str) -> torch.Tensor:
    """The answer as a tensor (numbers and lists are accepted), or a Mistake saying what it was."""
    if isinstance(answer, torch.Tensor):
        return answer
    if isinstance(answer, (int, float, list, tuple, np.ndarray, np.number)) and not isinstance(answer, bool):
        try:
            return torch.as_tensor(np.asarray(answer, dtype=np.float64))
        except (TypeError, ValueError):
            pass
    raise Mistake(f"{what} should be a tensor or a number, got {type(answer).__name__}")


def matches(answer: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    """Same shape and close values (compared in float64)."""
    if answer.shape != expected.shape:
        return False
    return torch.allclose(answer.detach().double(), expected.detach().double(), atol=atol, rtol=rtol)


def expect(answer, expected, what: str, mistakes: dict | None = None, atol: float = 1e-5, rtol: float = 1e-4):
    """Raise a Mistake unless `answer` has the shape and, within the tolerance, the values of `expected`.

    mistakes: {hint: wrong answer}, typical wrong answers. An answer of the right shape that equals one gets
    that hint as the message; an answer of the wrong shape gets both shapes, then the hint of the mistake it
    equals, or else of a mistake of its shape.
    """
    answer, expected = as_tensor(answer, what), as_tensor(expected, what)
    if matches(answer, expected, atol, rtol):
        return
    mistakes = {hint: as_tensor(wrong, what) for hint, wrong in (mistakes or {}).items()}
    matched = [hint for hint, wrong in mistakes.items() if matches(answer, wrong, atol, rtol)]
    if matched and answer.shape == expected.shape:
        raise Mistake(matched[0])
    if answer.shape != expected.shape:
        hints = matched or [hint for hint, wrong in mistakes.items() if wrong.shape == answer.shape]
        raise Mistake(
            f"the shape of {what} is {shape_of(answer)}; expected {shape_of(expected)}."
            + (f" {hints[0][0].upper()}{hints[0][1:]}" if hints else "")
        )
    if not torch.isfinite(answer).all():
        raise Mistake(f"there are NaN or infinite values in {what}: look for a division by zero or the log of 0")
    difference = (answer.detach().double() - expected.detach().double()).abs()
    worst = tuple(int(i) for i in torch.unravel_index(difference.argmax(), difference.shape))
    where = f", the largest difference at index {list(worst)}" if worst else ""
    raise Mistake(
        f"the values of {what} are off{where}: yours {answer[worst].item():.4g}, expected {expected[worst].item():.4g}"
    )


def require(condition: bool, message: str):
    """Raise a Mistake with `message` unless `condition` holds."""
    if not condition:
        raise Mistake(message)
