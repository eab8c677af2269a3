"""Renderers of a results matrix, one module per format (as hyperfine has one exporter per
format): terminal (rich), markdown, csv, html, latex. They format; they decide nothing.
``registry`` maps a text format to its renderer; this module stays import-light for the CLI."""

from __future__ import annotations

FORMATS = ("terminal", "markdown", "csv", "html", "latex")
