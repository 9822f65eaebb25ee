#!/usr/bin/env bash
# The tokenizer's rank files (cl100k_base, o200k_base) come from the npm `tiktoken` package,
# pinned in third_party/tiktoken/package-lock.json. Installs it once; later runs do nothing.
set -euo pipefail
cd "$(dirname "$0")/../third_party/tiktoken"
if [[ -f node_modules/tiktoken/encoders/o200k_base.json && -f node_modules/tiktoken/encoders/cl100k_base.json ]]; then
  exit 0
fi
echo "fetch-tokenizer-data: npm ci (tiktoken rank files)"
npm ci --no-audit --no-fund --loglevel=error
