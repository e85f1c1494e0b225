#!/usr/bin/env bash
# Installs the Debian packages the project needs, when they are missing. Idempotent; quick when all are present.
set -euo pipefail

packages=(libopenslide0 openslide-tools libtiff-tools fonts-dejavu-core chromium)
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

# Azurite (Azure Storage) and cosmosdb-server (Cosmos DB) for the pipeline's tests, which start them themselves.
if ! command -v azurite >/dev/null 2>&1 || ! command -v cosmosdb-server >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "installing: azurite and cosmosdb-server (npm)"
  npm install -g --silent azurite@3.37.0 @vercel/cosmosdb-server@1.0.1 >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it first: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi
