"""Figures as files: render a Matplotlib figure to a compact PNG."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from PIL import Image

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes (a 64-colour palette) and close it.

    Line plots have few colours: a palette PNG is about a third of the RGBA one and looks
    the same, which keeps the self-contained report small (issue 14: under 1 MB).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as rgba:
        palette = rgba.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()
