#!/usr/bin/env bash
# The demo behind `make demo`: list what is registered, then for every example
# config validate it, inspect it and run one jit-compiled forward pass.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== registered components =="
pathways plugins

for config in examples/*.yaml; do
  echo
  echo "== $config =="
  pathways validate "$config"
  pathways inspect "$config"
  pathways forward "$config"
done
