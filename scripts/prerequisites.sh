#!/usr/bin/env bash
# Installs the Debian packages the project needs, when they are missing. Idempotent; quick when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenslide0 openslide-tools libtiff-tools fonts-dejavu-core chromium python3-openslide)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Azurite (Azure Storage) and cosmosdb-server (Cosmos DB) at the versions azurite/package.json pins, for the
# pipeline's tests and `deepslide local`, which start them themselves.
if ! command -v azurite >/dev/null 2>&1 || ! command -v cosmosdb-server >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  pinned=$(node -e 'const d = require("./azurite/package.json").dependencies; console.log(Object.entries(d).map(([n, v]) => n + "@" + v).join(" "))')
  echo "installing: $pinned (npm)"
  # shellcheck disable=SC2086
  npm install -g --silent $pinned >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it first: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi
