from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.config.probes import ProbesConfig


def test_unknown_keys_are_errors():
    with pytest.raises(ValidationError, match="extra"):
        ProbesConfig.model_validate({"power": {"source": "battery", "curent_unit": "mA"}})


@pytest.mark.parametrize(
    ("power", "msg"),
    [
        ({"source": "command"}, "needs argv"),
        ({"source": "ina3221"}, "needs rail"),
        ({"source": "tegrastats"}, "needs rail"),
        ({"source": "battery", "discharge_sign": 2}, "discharge_sign"),
    ],
)
def test_source_requirements(power, msg):
    with pytest.raises(ValidationError, match=msg):
        ProbesConfig.model_validate({"power": power})
