#!/usr/bin/env bash
# One command on a fresh Debian machine: install what is missing, build, then run the main job on an embedded
# default: synthesize labelled slides, extract patches, train a classifier, tune the aggregators, classify
# held-out slides and print the slide results. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
# The .NET SDK sends usage telemetry to Microsoft unless told not to.
export DOTNET_CLI_TELEMETRY_OPTOUT=1

scripts/prerequisites.sh
dotnet build DeepSlide.Functions.sln -c Release --nologo -v quiet

src/DeepSlide.Cli/bin/Release/net10.0/deepslide demo --out "${DEEPSLIDE_DEMO:-out/demo}"
