#!/usr/bin/env bash
# Stops `make` early, with the fix, when Node.js or npm is missing or too old (the gateway needs
# Node.js 20 or later; Debian 12's own nodejs package is 18). Usage: check-node.sh [node] [npm]
set -uo pipefail
node_bin=${1:-node}
npm_bin=${2:-npm}
hint="Install Node.js 20 or later with npm first, e.g. from NodeSource (deb.nodesource.com, node_20.x) or nodejs.org; see README.md."
if ! version=$("$node_bin" --version 2>/dev/null); then
  echo "make: Node.js not found ($node_bin). $hint" >&2
  exit 1
fi
major=${version#v}
major=${major%%.*}
if ! [[ "$major" =~ ^[0-9]+$ ]] || (( major < 20 )); then
  echo "make: Node.js $version is too old: the gateway needs 20 or later. $hint" >&2
  exit 1
fi
if ! "$npm_bin" --version >/dev/null 2>&1; then
  echo "make: npm not found ($npm_bin), needed for the locked dependencies (npm ci). $hint" >&2
  exit 1
fi
