"""Make a cell's text storable before it reaches the store.

A device writes whatever it likes: a lone surrogate (``\\ud800``) that SQLite cannot encode, a NUL
that PostgreSQL refuses in text, a series name longer than the ``metric`` column or a provider
name longer than ``ep_used``. Any of these used to make the commit raise and end the run. Here
every string column of a cell is made storable first: surrogates and NULs become U+FFFD, a text
longer than its column is cut to fit with a short digest of the whole (so two long names stay
two names), and each change is noted in ``result_json["storable"]`` together with the full text
where it fits there (``result_json`` is unbounded JSON, escaped by ``json.dumps``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

from sqlalchemy import String, Table

from harness.records import CellRecord, MetricValue
from harness.results import schema as S

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
#: the most of a changed text kept whole beside its cut copy (per field)
MAX_KEPT_CHARS = 16 << 10
#: the longest error text a cell keeps (the tail: where a crash says why)
MAX_ERROR_CHARS = 64 << 10


def column_limit(table: Table, column: str) -> int | None:
    col_type = table.c[column].type
    return col_type.length if isinstance(col_type, String) and col_type.length else None


def clean(text: str) -> str:
    """``text`` with lone surrogates and NULs replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def fit(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, its end a digest of the whole (stays unique)."""
    if limit is None or len(text) <= limit:
        return text
    digest = "~" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return text[: max(0, limit - len(digest))] + digest


@dataclasses.dataclass
class Notes:
    """What was changed to make a record storable (kept in result_json["storable"])."""

    changes: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def text(self, value: str | None, where: str, limit: int | None, *, tail: bool = False) -> str | None:
        if value is None:
            return None
        value = str(value)
        cleaned = clean(value)
        if tail and limit is not None and len(cleaned) > limit:
            out = "…" + cleaned[-(limit - 1):]
        else:
            out = fit(cleaned, limit)
        if out != value:
            why = []
            if cleaned != value:
                why.append("surrogates/NUL replaced")
            if out != cleaned:
                why.append(f"cut from {len(value)} to {len(out)} characters")
            note: dict[str, Any] = {"field": where, "change": ", ".join(why), "stored": out}
            if len(value) <= MAX_KEPT_CHARS:
                note["full"] = value  # json.dumps escapes it: any text fits in result_json
            self.changes.append(note)
        return out


_CELL_TEXT = ("cell_key", "device", "workload", "precision", "backend", "transport", "device_fingerprint",
              "build_id", "artifact_sha256", "ort_version", "ep_requested", "ep_used", "started_at", "finished_at")


def _unique(name: str, original: str, seen: set[str], limit: int | None) -> str:
    """Two device names made one by the cleaning stay two (a digest of the original tells them apart)."""
    if name in seen:
        name = fit(name + "~" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8] + "~", limit)
    seen.add(name)
    return name


def storable_record(rec: CellRecord) -> CellRecord:
    """A copy of ``rec`` whose every text fits the store; the original when nothing needed a change."""
    notes = Notes()
    values: dict[str, Any] = {}
    for name in _CELL_TEXT:
        values[name] = notes.text(getattr(rec, name), name, column_limit(S.cells, name))
    values["error"] = notes.text(rec.error, "error", MAX_ERROR_CHARS, tail=True)
    metric_limit = column_limit(S.metrics, "metric")
    metrics: list[MetricValue] = []
    seen: set[str] = set()
    for m in rec.metrics:
        name = _unique(notes.text(m.name, f"metrics[{m.name!r}].name", metric_limit) or "", m.name, seen, metric_limit)
        unit = notes.text(m.unit, f"metrics[{m.name!r}].unit", column_limit(S.metrics, "unit")) or ""
        method = notes.text(m.method, f"metrics[{m.name!r}].method", column_limit(S.metrics, "method"))
        kind = notes.text(m.kind, f"metrics[{m.name!r}].kind", column_limit(S.metrics, "kind")) or "info"
        metrics.append(MetricValue(name, m.value, unit, kind, method))
    samples: dict[str, Any] = {}
    seen = set()
    for k, v in rec.samples.items():
        limit = column_limit(S.samples, "metric")
        samples[_unique(notes.text(k, f"samples[{k!r}]", limit) or "", k, seen, limit)] = v
    if not notes.changes:
        return rec
    result = dict(rec.result)
    result["storable"] = [*(result.get("storable") or []), *notes.changes]
    return dataclasses.replace(rec, **values, metrics=metrics, samples=samples, result=result)
