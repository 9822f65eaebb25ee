#!/usr/bin/env bash
# The one test command: installs what is missing, builds (release, ASan/UBSan, clang fuzz),
# and runs every test (unit, integration against real processes, SDK, sanitizer, fuzz) in one
# ctest run that ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${LP_FUZZ_SECONDS:-30}

bash scripts/install-deps.sh
bash scripts/fetch-tokenizer-data.sh
bash scripts/fetch-docs-viewers.sh

echo "== build: release"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"

echo "== build: ASan + UBSan (unit tests and servers)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLP_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-asan -j "$JOBS" --target unit_tests llm-proxy mock_upstream

echo "== build: libFuzzer targets (clang)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLP_FUZZ=ON -DLP_BUILD_SERVERS=OFF -DLP_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$JOBS"

echo "== npm: the official openai and Anthropic SDKs, Claude Code and Codex CLI, for client tests"
(cd tests/sdk && npm install --no-audit --no-fund --loglevel=error)

# Wire the other trees into the release tree's ctest so one run covers everything.
cmake -S . -B build -DLP_ASAN_DIR="$ROOT/build-asan" -DLP_FUZZ_DIR="$ROOT/build-fuzz" \
      -DLP_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Servers the tests start must all be stopped by them, even when a test fails or times out:
# any such process that was not running before the tests and still runs after is reported,
# killed, and fails the run.
servers() {  # pids of the servers tests start (pgrep matches one name of at most 15 characters)
    for name in redis-server postgres nginx llm-proxy mock_upstream prometheus; do pgrep -x "$name" || true; done | sort
}
before=$(servers)
cd build
status=0
ctest --output-on-failure -j "$JOBS" "$@" || status=$?
sleep 1
after=$(servers)
left=$(comm -13 <(echo "$before") <(echo "$after") | grep . || true)
if [[ -n "$left" ]]; then
    echo "test.sh: processes started by the tests are still running:"
    for pid in $left; do ps -o pid=,args= -p "$pid" || true; done
    kill -9 $left 2>/dev/null || true
    status=1
else
    echo "test.sh: no process started by the tests is left running"
fi
exit $status
