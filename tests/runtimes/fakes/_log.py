"""What a fake was asked, one JSON line per call, to $FAKE_LOG (tests read it)."""

import json
import os


def log(**fields):
    path = os.environ.get("FAKE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(fields, default=str) + "\n")
