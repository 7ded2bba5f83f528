#!/usr/bin/env bash
# Runs the browser suite from a clean checkout: installs Debian's Chromium when it is missing,
# builds devauthd, installs playwright-core from package-lock.json and runs node's test
# runner. Exits non-zero when a step or a test fails. Screenshots and server logs are written
# to artifacts/browser/ at the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
echo "node $(node --version), $(/usr/bin/chromium --version 2>/dev/null)"

cargo build -p devauthd -p devauth

cd tests/browser
npm ci --no-audit --no-fund
# One file at a time, because each starts its own devauthd and Chromium and parallel browsers
# slow each other down. The per-test timeout (ms) bounds a hung browser, and the cleanup hooks
# still stop the server when it fires.
node --test --test-concurrency=1 --test-timeout=180000 ./*.test.mjs
