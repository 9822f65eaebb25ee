#!/usr/bin/env bash
# The one command to set up and run: installs what is missing, builds, starts the bundled mock
# upstream on 127.0.0.1:9000 and the gateway on 127.0.0.1:8080 with config.example.yaml.
# Ctrl-C stops both. CONFIG=path overrides the config file.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-config.example.yaml}

bash scripts/install-deps.sh
bash scripts/fetch-tokenizer-data.sh
bash scripts/fetch-docs-viewers.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target llm-proxy mock_upstream

build/mock_upstream --listen 127.0.0.1:9000 --name demo-upstream &
MOCK_PID=$!
trap 'kill $MOCK_PID 2>/dev/null || true' EXIT
echo "demo upstream (mock) on http://127.0.0.1:9000; gateway on http://127.0.0.1:8080"
echo "try: curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\"
echo "       -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"
build/llm-proxy --config "$CONFIG"
