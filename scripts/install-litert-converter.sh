#!/usr/bin/env bash
# LiteRT's converter for harness (the `litert` runtime's host side): tensorflow-cpu + onnx2tf.
# onnx2tf 1.29.24 (the last for Python < 3.12) pins tensorflow 2.19, numpy 1.26 and onnxruntime 1.23,
# which clash with harness's; it and tf-keras are installed without their dependencies, then the few
# it needs. tf-keras *with* its dependencies pulls the full tensorflow wheel (+700 MB). ~1.5 GB in all.
# Usage: scripts/install-litert-converter.sh [PYTHON]   (default: python3)
set -euo pipefail
PY="${1:-python3}"
"$PY" -m pip install -q "ai-edge-litert>=2.0" "tensorflow-cpu>=2.21"
"$PY" -m pip install -q --no-deps "tf-keras>=2.21" "onnx2tf>=1.29.24"
"$PY" -m pip install -q "onnx-graphsurgeon>=0.5" "sng4onnx>=1.0" psutil
"$PY" -c "import onnx2tf, tensorflow; print('LiteRT converter: onnx2tf', onnx2tf.__version__, 'tensorflow', tensorflow.__version__)"
