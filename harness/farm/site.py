"""Farm health on the published site: ``farm/health.json`` and ``farm/index.html``.

The page extends the site's base template (same nav and style); every site page links it from
the nav when ``farm/index.html`` exists (so a later `harness publish` keeps the link).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from harness.report.site.publish import slug

_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("harness.farm", "templates"),
                                jinja2.PackageLoader("harness.report.site", "templates")]),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_health(health: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write health.json and the page under ``out/farm/``; returns both paths."""
    folder = Path(out) / "farm"
    data = _atomic(folder / "health.json", json.dumps(health, indent=1, default=str))
    view = {**health, "runs": [{**r, "run_slug": slug(r["run_id"])} for r in health["runs"]]}
    html = _env.get_template("farm.html.j2").render(title=f"farm {health['farm']}", root="../", plotly="", h=view,
                                                    farm_nav=True)
    return data, _atomic(folder / "index.html", html)

