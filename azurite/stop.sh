#!/usr/bin/env bash
# Stops what azurite/start.sh started.
set -euo pipefail
cd "$(dirname "$0")"
for name in azurite cosmosdb-server; do
  if [ -f "data/$name.pid" ]; then
    kill "$(cat "data/$name.pid")" 2>/dev/null || true
    rm -f "data/$name.pid"
    echo "stopped $name"
  fi
done
