#!/usr/bin/env bash
# Benchmark: builds release if needed, then runs bench.py (direct vs nginx vs llm-proxy).
# Extra arguments go to bench.py, e.g. bash bench/run.sh --rounds 5 --workers 2
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
bash scripts/fetch-tokenizer-data.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target llm-proxy mock_upstream >/dev/null
exec python3 bench/bench.py "$@"
