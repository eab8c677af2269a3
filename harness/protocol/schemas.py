"""JSON Schema files of protocol 1, generated from the models, for runner authors outside Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.protocol.job import Job
from harness.protocol.probe import ProbeFacts
from harness.protocol.result import Result

SCHEMA_DIR = Path(__file__).resolve().parent / "protocol-1"
MODELS: dict[str, type[BaseModel]] = {"job": Job, "result": Result, "probe": ProbeFacts}


def json_schemas() -> dict[str, dict[str, Any]]:
    """name -> JSON Schema (draft 2020-12, as pydantic writes it)."""
    out = {}
    for name, model in MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"harness/protocol-1/{name}.schema.json"
        out[name] = schema
    return out


def rendered() -> dict[Path, str]:
    return {SCHEMA_DIR / f"{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
            for name, schema in json_schemas().items()}


def write() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for path, text in rendered().items():
        path.write_text(text)
        written.append(path)
    return written
