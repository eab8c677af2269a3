"""The site's Jinja environment: autoescape everywhere (every user string is escaped)."""

from __future__ import annotations

import math
from typing import Any

import jinja2

from harness.analysis.run_table import SANE_CEILING


def num(value: Any, digits: int = 4) -> str:
    """A number for a page; missing, non-finite or absurd (beyond SANE_CEILING, a device's 1e308) is blank."""
    if value is None or (isinstance(value, float) and (not math.isfinite(value) or abs(value) > SANE_CEILING)):
        return ""
    return f"{float(value):.{digits}g}"


def pval(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{float(value):.2g}"


env = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report.site", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)
env.filters["num"] = num
env.filters["pval"] = pval


def render(template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
