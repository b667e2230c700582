#!/usr/bin/env bash
# Prints the bin folder of a Node.js line (e.g. `scripts/node-bin.sh 24`), installing it first from
# the npm registry's `node` package (the official binaries) into a cache outside the project. CI
# uses it to run on the LTS lines the README names whatever Node the machine itself has.
set -euo pipefail
major=${1:?usage: scripts/node-bin.sh MAJOR}
dir="${ITEMVEC_NODE_CACHE:-${HOME}/.cache/itemvec-node}/${major}"
if ! "${dir}/node_modules/node/bin/node" --version >/dev/null 2>&1; then
  npm install --prefix "${dir}" --no-save --no-audit --no-fund --loglevel=error "node@${major}" >&2
fi
echo "${dir}/node_modules/node/bin"
