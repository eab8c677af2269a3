"""The compare markdown is a GitHub comment: whatever the rows hold (pipes, newlines, HTML, long reasons, any
count), it stays under the limit, every table renders as a table in cmark-gfm, and what is cut is counted."""

from __future__ import annotations

import re

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis.compare import Comparison, Row, Verdict
from harness.analysis.compare_select import RowFilter
from harness.report.render_compare import render_markdown

TEXT = st.text(alphabet=st.sampled_from(list("ab |\n<>&*_`#>-") + ["é", "\t"]), max_size=40)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    rows = []
    for i in range(draw(st.integers(0, 120))):
        rows.append(Row(workload=f"w{i % 7}", precision="fp32", backend="cpu", device=draw(TEXT) or "d",
                        device_fingerprint="f", metric=f"m{i}", unit="ms", kind="noisy",
                        verdict=draw(st.sampled_from(list(Verdict))), reason=draw(TEXT) * draw(st.integers(1, 20)),
                        a=1.0, b=1.1, ratio=1.1))
    return Comparison("run a", "run b", rows, notes=[draw(TEXT) for _ in range(draw(st.integers(0, 3)))])


@settings(max_examples=40, deadline=None)
@given(comparisons(), st.integers(3_000, 20_000))
def test_markdown_fits_renders_and_counts_what_it_cut(cmp: Comparison, limit: int) -> None:
    md = render_markdown(cmp, rows=RowFilter(all_metrics=True), limit=limit)
    assert len(md) <= limit
    html = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    heads = md.count("| device | workload |")
    shown = len(re.findall(r"^\| (?!device \|)", md, flags=re.M))
    assert html.count("<table>") == heads and html.count("<tr>") == heads + shown
    for quote in re.findall(r"<blockquote>(.*?)</blockquote>", html, flags=re.S):
        assert "<table" not in quote
    cut = re.search(r"\*(\d+) row\(s\) cut to keep this comment under", md)
    assert shown + (int(cut.group(1)) if cut else 0) == len(cmp.rows)
    if cmp.rows and not cut:
        assert shown == len(cmp.rows)
