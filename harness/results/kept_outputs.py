"""Each measured cell's outputs, kept in the store so any device can be another's reference.

Cross-platform agreement against the host is computed while the run goes (the host runs
the same artifact). Agreement against another *device* needs both devices' outputs on the
same inputs, possibly from runs on different hosts (farm shards): so the store keeps them,
next to the cell, in two side tables (no core table changes, schema_version unchanged):

- ``output_blobs``: content-addressed npz blobs (sha256 of names, dtypes, shapes and bytes):
  a deterministic cell gives the same bytes night after night and is kept once;
- ``cell_outputs``: cell id -> blob sha256 and the sha256 of the inputs it ran on.

Outputs over KEEP_OUTPUTS_MAX_BYTES are not kept (the cell says so in its result).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Column, Connection, ForeignKey, Integer, LargeBinary, String, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from harness.results.schema import metadata

if TYPE_CHECKING:
    from harness.results.store import Store

KEEP_OUTPUTS_MAX_BYTES = 16 * 2**20

output_blobs = Table(
    "output_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("nbytes", Integer, nullable=False),  # raw array bytes, before compression
    Column("data", LargeBinary, nullable=False),  # an npz, deflated (npz_bytes)
)

cell_outputs = Table(
    "cell_outputs",
    metadata,
    Column("cell_id", Integer, ForeignKey("cells.id", ondelete="CASCADE"), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("inputs_sha256", String(64)),
)


@dataclass(frozen=True)
class KeptOutputs:
    inputs_sha256: str | None
    arrays: dict[str, np.ndarray]


def outputs_nbytes(outputs: Mapping[str, np.ndarray]) -> int:
    return int(sum(np.asarray(v).nbytes for v in outputs.values()))


def keepable(outputs: Mapping[str, np.ndarray]) -> bool:
    return bool(outputs) and outputs_nbytes(outputs) <= KEEP_OUTPUTS_MAX_BYTES


def outputs_digest(outputs: Mapping[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and bytes (not the npz file: zip entries carry times)."""
    h = hashlib.sha256()
    for name in sorted(outputs):
        a = np.ascontiguousarray(outputs[name])
        h.update(f"{name}\x1f{a.dtype.str}\x1f{a.shape}\x1e".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _insert_ignore(conn: Connection, table: Table, values: dict[str, object]) -> None:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def npz_bytes(outputs: Mapping[str, np.ndarray]) -> bytes:
    """An npz (np.load reads it) deflated at level 1: float outputs barely compress. On the default
    matrix's 10.8 MB of outputs, np.savez_compressed (level 6) took 0.71 s of the run's wall for
    8.44 MB, level 1 0.32 s for 8.58 MB (measured)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, value in outputs.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
    return buf.getvalue()


def insert_outputs(conn: Connection, cell_id: int, outputs: Mapping[str, np.ndarray], inputs_sha256: str | None) -> None:
    """Inside the cell's own transaction: the cell and its outputs are committed together.
    A blob already kept (a deterministic cell, night after night) is not compressed again."""
    sha = outputs_digest(outputs)
    if conn.execute(select(output_blobs.c.sha256).where(output_blobs.c.sha256 == sha)).first() is None:
        _insert_ignore(conn, output_blobs, {"sha256": sha, "nbytes": outputs_nbytes(outputs),
                                            "data": npz_bytes(outputs)})
    conn.execute(insert(cell_outputs).values(cell_id=cell_id, sha256=sha, inputs_sha256=inputs_sha256))


def delete_outputs(conn: Connection, cell_id: int) -> None:
    """Forget a cell's outputs (the blob stays: other cells may share it)."""
    conn.execute(delete(cell_outputs).where(cell_outputs.c.cell_id == cell_id))


def load_outputs(store: Store, cell_ids: Iterable[int]) -> dict[int, KeptOutputs]:
    ids = [int(c) for c in cell_ids]
    out: dict[int, KeptOutputs] = {}
    for start in range(0, len(ids), 500):  # keep IN lists bounded
        q = (select(cell_outputs.c.cell_id, cell_outputs.c.inputs_sha256, output_blobs.c.data)
             .join(output_blobs, output_blobs.c.sha256 == cell_outputs.c.sha256)
             .where(cell_outputs.c.cell_id.in_(ids[start:start + 500])))
        with store.engine.connect() as conn:
            for cell_id, inputs_sha, data in conn.execute(q):
                with np.load(io.BytesIO(data), allow_pickle=False) as z:
                    out[int(cell_id)] = KeptOutputs(inputs_sha, {k: z[k] for k in z.files})
    return out
