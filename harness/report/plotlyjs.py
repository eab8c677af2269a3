"""Where a page gets plotly.js: inline (self-contained), one shared copy, or a given URL.

plotly.min.js is ~4.8 MB: inlined in every run page, a reports folder of a few hundred
nightly runs is gigabytes. So pages share one copy per folder ("directory": beside the page;
"shared": in the folder that holds the run folders, ``reports/runs/plotly.min.js``), and
only a page meant to travel alone (``harness run --self-contained``) inlines it.
"""

from __future__ import annotations

import os
from pathlib import Path

from markupsafe import Markup
from plotly.offline import get_plotlyjs

PLOTLY_JS = "plotly.min.js"


def write_plotlyjs(folder: Path) -> Path:
    """``folder/plotly.min.js`` from the installed plotly: written once, rewritten only when the
    installed plotly differs (an upgrade), atomically (two runs may finish at once)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PLOTLY_JS
    js = get_plotlyjs()
    try:
        if target.stat().st_size == len(js.encode()) and target.read_text(encoding="utf-8") == js:
            return target
    except (OSError, UnicodeDecodeError):
        pass
    tmp = folder / f".{PLOTLY_JS}.{os.getpid()}.part"
    tmp.write_text(js, encoding="utf-8")
    tmp.replace(target)
    return target


def plotly_script(out_dir: Path, mode: str = "inline") -> Markup:
    """mode: "inline" (one self-contained page), "directory" (plotly.min.js once in out_dir),
    "shared" (once in out_dir's parent: all run pages under reports/runs/ share it), or a
    relative URL of an existing copy (e.g. "../plotly.min.js" on a site)."""
    if mode == "inline":
        return Markup(f"<script>{get_plotlyjs()}</script>")
    if mode == "directory":
        write_plotlyjs(Path(out_dir))
        return Markup('<script src="{}"></script>').format(PLOTLY_JS)
    if mode == "shared":
        write_plotlyjs(Path(out_dir).resolve().parent)
        return Markup('<script src="{}"></script>').format("../" + PLOTLY_JS)
    return Markup('<script src="{}"></script>').format(mode)
