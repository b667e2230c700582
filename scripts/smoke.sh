#!/usr/bin/env bash
# A smoke pass for another Node line (CI runs it on Node 24 after the full suite on 22): the quick
# start end to end from the built CLI, in a folder of its own, then the core test files.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "smoke: node $(node --version)"
npm run build --silent
home=$(mktemp -d)
trap 'rm -rf "${home}"' EXIT
ITEMVEC_HOME="${home}" npm run quickstart --silent
node --import tsx --test --test-reporter=spec test/transform.test.ts test/store.test.ts test/pipeline.test.ts test/serve.test.ts test/cli.test.ts
