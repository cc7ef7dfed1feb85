"""Checks that an image file is a real, non-blank picture (tests of plots and screenshots)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def assert_real_image(path: Path, min_side: int = 100) -> None:
    """`path` is a PNG that decodes, is at least `min_side` pixels a side, and is not blank
    (its pixels vary)."""
    assert path.is_file(), f"{path} is missing"
    with Image.open(path) as image:
        assert image.format == "PNG", f"{path} is {image.format}, not PNG"
        image.verify()
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert min(pixels.shape) >= min_side, f"{path} is only {pixels.shape}"
    assert pixels.std() > 5.0, f"{path} is blank (pixel standard deviation {pixels.std():.2f})"
