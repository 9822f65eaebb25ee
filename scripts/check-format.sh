#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format) makes of it.
# Fix with: find src tests/unit tools bench fuzz -name '*.[hc]pp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(find src tests/unit tools bench fuzz -name '*.[hc]pp' | sort)
if ! out=$(clang-format --dry-run --Werror $files 2>&1); then
    echo "$out" | grep "error:" | cut -d: -f1 | sort | uniq -c | sed 's/^/check-format: /'
    echo "check-format: run clang-format -i on the files above"
    exit 1
fi
echo "check-format: $(echo "$files" | wc -l) files formatted"
