#!/usr/bin/env bash
# Starts Azurite and cosmosdb-server in the background, on the ports `deepslide local` uses by default, with
# Azurite's data in azurite/data (or $AZURITE_DATA). `deepslide local up` starts them itself; this is for working
# against them by hand. Azurite's usage telemetry is off: it would send data from a lab's machine to Microsoft, and
# while it is on, Azurite outlives SIGTERM on a machine that cannot reach the telemetry endpoint.
set -euo pipefail
cd "$(dirname "$0")"
data=${AZURITE_DATA:-data}
mkdir -p "$data"
blob=${AZURITE_BLOB_PORT:-10000}
cosmos=${COSMOS_PORT:-8081}
azurite --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort $((blob + 1)) \
  --tableHost 127.0.0.1 --tablePort $((blob + 2)) --location "$data" --skipApiVersionCheck --silent --disableTelemetry \
  >"$data/azurite.log" 2>&1 &
echo $! >"$data/azurite.pid"
cosmosdb-server -p "$cosmos" --host 127.0.0.1 >"$data/cosmosdb-server.log" 2>&1 &
echo $! >"$data/cosmosdb-server.pid"
echo "azurite: blob $blob, queue $((blob + 1)), table $((blob + 2)); cosmosdb-server: https://127.0.0.1:$cosmos/ (self-signed)"
