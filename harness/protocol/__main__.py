"""`python -m harness.protocol`: rewrite the JSON Schema files from the models."""

from harness.protocol.schemas import write

for path in write():
    print(path)
