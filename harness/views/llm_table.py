"""Load the cross-runtime LLM table of the cells some references name (runs, builds, 'latest'),
or of one run (the run report). The frame itself is analysis.llm_table's; rendering is report's."""

from __future__ import annotations

from collections.abc import Sequence

from harness.analysis.llm_table import LlmTable, llm_table
from harness.results.store import Store
from harness.views.results_matrix import only_runtimes, resolve_parts, select


def load_llm_table(store: Store, refs: Sequence[str], runtimes: Sequence[str] = ()) -> LlmTable:
    """`harness table REF...`: the llm cells the references name (newer run's cell wins)."""
    cells = only_runtimes(select(store, resolve_parts(store, refs)), runtimes).cells
    return llm_table(cells, store.metrics_frame(sorted(set(cells["run_id"]))) if not cells.empty
                     else store.metrics_frame([]))


def run_llm_table(store: Store, run_id: str) -> LlmTable:
    cells = store.cells_frame([run_id])
    return llm_table(cells, store.metrics_frame([run_id]))
