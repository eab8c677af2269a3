"""The local journal: where a measured cell waits when the store cannot take it.

When a commit fails even after retries (disk full, a lock held for minutes, the database gone),
the cell's record is written here instead, one ``.npz`` per cell under ``<root>/<run_id>/``: its
fields as JSON plus its samples and kept outputs as arrays. ``harness run --resume <run_id>``
stores the journal first (a cell already in the store is not stored twice), then runs what is
left. Nothing measured is lost to a store fault.

The journal lives beside a SQLite store (``.<store file>.journal/``) when it can, else in
``$HARNESS_JOURNAL``, the harness home's ``results/journal`` or the temp folder: the first that
takes the file (a PostgreSQL store starts at ``$HARNESS_JOURNAL``). A full disk under
the store usually leaves another folder that does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import make_url

from harness.config.locations import project_root
from harness.records import CellRecord, MetricValue

SUFFIX = ".cell.npz"


def roots(store_url: str) -> list[Path]:
    """Where journals of this store may be, in the order they are tried."""
    out: list[Path] = []
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database.removeprefix("file:").split("?")[0])
        out.append(db.parent / f".{db.name}.journal")
    env = os.environ.get("HARNESS_JOURNAL")
    if env:
        out.append(Path(env))
    out += [project_root() / "results" / "journal", Path(tempfile.gettempdir()) / "harness-journal"]
    return list(dict.fromkeys(out))


def _store_tag(store_url: str) -> str:
    """Entries name their store (without its password) so a journal is never replayed into another."""
    return make_url(store_url).render_as_string(hide_password=True)


def _file_name(cell_key: str) -> str:
    return hashlib.sha256(cell_key.encode("utf-8", "surrogatepass")).hexdigest()[:24] + SUFFIX


def _encode(rec: CellRecord, store_url: str) -> bytes:
    fields = {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec) if f.name not in ("samples", "outputs",
                                                                                                "metrics")}
    fields["metrics"] = [dataclasses.asdict(m) for m in rec.metrics]
    names = {"samples": list(rec.samples), "outputs": list(rec.outputs)}
    head = {"store": _store_tag(store_url), "record": fields, "names": names}
    arrays: dict[str, Any] = {"head": np.frombuffer(json.dumps(head, default=str).encode(), dtype=np.uint8)}
    arrays.update({f"s{i}": np.asarray(v) for i, v in enumerate(rec.samples.values())})
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(rec.outputs.values())})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _decode(path: Path) -> tuple[str, CellRecord]:
    with np.load(path, allow_pickle=False) as z:
        head = json.loads(z["head"].tobytes().decode())
        fields = dict(head["record"])
        fields["metrics"] = [MetricValue(**m) for m in fields["metrics"]]
        fields["samples"] = {n: z[f"s{i}"] for i, n in enumerate(head["names"]["samples"])}
        fields["outputs"] = {n: z[f"o{i}"] for i, n in enumerate(head["names"]["outputs"])}
    return head["store"], CellRecord(**fields)


def write(store_url: str, run_id: str, rec: CellRecord) -> Path:
    """Keep ``rec`` in the first journal folder that takes it; OSError naming each folder if none does."""
    data = _encode(rec, store_url)
    errors = []
    for root in roots(store_url):
        folder = root / run_id
        path = folder / _file_name(rec.cell_key)
        tmp = folder / f".{path.name}.{os.getpid()}.part"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return path
        except OSError as exc:
            errors.append(f"{folder}: {exc.strerror or exc}")
            for leftover in (tmp.unlink, folder.rmdir, root.rmdir):  # nothing half-made left behind
                try:
                    leftover()
                except OSError:
                    pass
    raise OSError(f"no journal folder takes cell {rec.cell_key}: " + "; ".join(errors))


def entries(store_url: str, run_id: str) -> Iterator[tuple[Path, CellRecord]]:
    """The journaled cells of a run on this store (entries of another store are left alone)."""
    tag = _store_tag(store_url)
    for root in roots(store_url):
        folder = root / run_id
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*" + SUFFIX)):
            store, rec = _decode(path)
            if store == tag:
                yield path, rec


def folders(store_url: str, run_id: str) -> list[Path]:
    return [root / run_id for root in roots(store_url) if (root / run_id).is_dir()]


def discard(path: Path) -> None:
    """Remove a replayed entry (and its run folder once empty)."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
        path.parent.parent.rmdir()  # the journal root itself, when this was its only run
    except OSError:
        pass
