"""The --probe line (protocol.probe_line): the last stdout line that is a JSON object, whatever a
runner's libraries printed around it; None when there is none."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from harness.protocol import probe_line

LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on
NOISE = st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS), max_size=40),
                 max_size=5)
FACTS = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=8)),
                        max_size=4)


def _not_an_object(line: str) -> bool:
    try:
        return not isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return True


@given(NOISE, FACTS, NOISE)
def test_the_last_json_object_line_wins(before: list[str], facts: dict[str, object], after: list[str]) -> None:
    after = [line for line in after if _not_an_object(line)]
    stdout = "\n".join([*before, json.dumps(facts), *after]) + "\n"
    assert probe_line(stdout) == facts


@given(NOISE)
def test_no_object_line_is_none(lines: list[str]) -> None:
    lines = [line for line in lines if _not_an_object(line)]
    assert probe_line("\n".join(lines)) is None
    assert probe_line('["a list", 1]\n42\n"text"') is None
