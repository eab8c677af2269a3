"""Read a markdown table back with a real CommonMark + GFM-table parser (markdown-it-py)."""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").enable("table")


def parse_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every table in ``text`` as (header cells, body rows), each cell's plain text (entities
    decoded, emphasis markers gone)."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    head: list[str] = []
    body: list[list[str]] = []
    row: list[str] = []
    in_head = in_table = False
    for tok in _MD.parse(text):
        if tok.type == "table_open":
            head, body, in_table = [], [], True
        elif tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            if in_head:
                head = row
            else:
                body.append(row)
        elif tok.type == "inline" and in_table and tok.children is not None:
            row.append("".join(c.content for c in tok.children if c.type in ("text", "code_inline")))
        elif tok.type == "table_close":
            tables.append((head, body))
            in_table = False
    return tables
