#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing first, so it works on a fresh machine on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
# The .NET SDK sends usage telemetry to Microsoft unless told not to.
export DOTNET_CLI_TELEMETRY_OPTOUT=1

scripts/prerequisites.sh
emulators() { pgrep -f 'node .*/(azurite|cosmosdb-server)( |$)' | sort || true; }
before=$(emulators)
log=$(mktemp)
status=0
dotnet test DeepSlide.Functions.sln -c Release --nologo 2>&1 | tee "$log" || status=$?

# One closing line for the whole suite, summed over the test assemblies.
sum() { grep -Eo "$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum Passed)
failed=$(sum Failed)
skipped=$(sum Skipped)
rm -f "$log"
if [ -z "${DEEPSLIDE_SERVICEBUS_CONNECTION:-}" ]; then
  echo "skipped: the Service Bus transport contract tests, because DEEPSLIDE_SERVICEBUS_CONNECTION is not set (no Service Bus broker or emulator runs on this machine); the same contract ran against Azure Storage queues on Azurite"
fi
# Every fixture stops the emulators it started; one left running (beyond those running before) is a defect.
sleep 2
left=$(comm -13 <(echo "$before") <(emulators) | sed '/^$/d')
if [ -n "$left" ]; then
  echo "error: the tests left emulator processes running:" >&2
  ps -o pid=,args= -p "$(echo "$left" | paste -sd,)" >&2 || true
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "error: no test ran" >&2
  exit 1
fi
exit "$status"
