"""Where a page gets plotly.js: inline (self-contained), a file beside it, or a shared URL."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup
from plotly.offline import get_plotlyjs


def plotly_script(out_dir: Path, mode: str = "inline") -> Markup:
    """mode: "inline" (one self-contained page), "directory" (write plotly.min.js once into
    out_dir), or a relative URL of an existing copy (e.g. "../plotly.min.js" on a site)."""
    if mode == "inline":
        return Markup(f"<script>{get_plotlyjs()}</script>")
    if mode == "directory":
        target = out_dir / "plotly.min.js"
        if not target.exists():
            target.write_text(get_plotlyjs())
        return Markup('<script src="plotly.min.js"></script>')
    return Markup('<script src="{}"></script>').format(mode)
