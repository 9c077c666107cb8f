"""Checks of arguments at the package's public boundary, worded in the caller's terms."""

from __future__ import annotations

import numbers


def check_positive_int(name: str, value) -> int:
    """Return `value` if it is an integer of at least 1 (not a bool); else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
