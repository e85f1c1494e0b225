#!/usr/bin/env bash
# Stops what azurite/start.sh started: SIGTERM, so Azurite saves its metadata, then SIGKILL for one still running
# 10 s later. Says which.
set -euo pipefail
cd "$(dirname "$0")"
data=${AZURITE_DATA:-data}
for name in azurite cosmosdb-server; do
  [ -f "$data/$name.pid" ] || continue
  pid=$(cat "$data/$name.pid")
  rm -f "$data/$name.pid"
  if ! kill "$pid" 2>/dev/null; then
    echo "$name was not running"
    continue
  fi
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    echo "$name did not stop 10 s after SIGTERM; killed"
  else
    echo "stopped $name"
  fi
done
