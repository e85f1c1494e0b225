#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing first, so it works on a fresh machine on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
log=$(mktemp)
status=0
dotnet build DeepSlide.Functions.sln -c Release --nologo -v quiet 2>&1 | tee "$log" || status=$?
# One test assembly at a time: two durable sidecars on Azurite stopping together have crashed a test host
# (NullReferenceException in AzureStorageOrchestrationService.StopAsync) when assemblies ran in parallel.
for project in tests/*/*.csproj; do
  dotnet test "$project" -c Release --nologo --no-build 2>&1 | tee -a "$log" || status=$?
done

# One closing line for the whole suite, summed over the test assemblies.
sum() { grep -Eo "$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum Passed)
failed=$(sum Failed)
skipped=$(sum Skipped)
rm -f "$log"
if [ -z "${DEEPSLIDE_SERVICEBUS_CONNECTION:-}" ]; then
  echo "skipped: the Service Bus transport contract tests, because DEEPSLIDE_SERVICEBUS_CONNECTION is not set (no Service Bus broker or emulator runs on this machine); the same contract ran against Azure Storage queues on Azurite"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "error: no test ran" >&2
  exit 1
fi
exit "$status"
