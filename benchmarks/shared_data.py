"""The Omniglot archives beside the checkout (../shared/data/omniglot), used by the benchmarks as a mirror."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"


def use_shared_omniglot() -> str | None:
    """Point $FEWSHOT_LAB_MIRROR at ../shared/data/omniglot (a file:// mirror) unless a mirror is already set
    or the folder is absent; returns the mirror it set, or None."""
    if "FEWSHOT_LAB_MIRROR" in os.environ or not SHARED.is_dir():
        return None
    os.environ["FEWSHOT_LAB_MIRROR"] = SHARED.as_uri()
    return os.environ["FEWSHOT_LAB_MIRROR"]
