#!/usr/bin/env bash
# The offline demo (make demo). Grows with the project; see README.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./build/adbench run configs/demo.yaml "$@"
