using System.Diagnostics;

namespace DeepSlide.Cli.Tests;

/// <summary>
/// <c>deepslide bench --chaos</c> as CI runs it: uploads to a local stack while each fault is injected once, on a state
/// folder that is a small file system of its own so that the disk can be filled (root mounts a tmpfs; CI runs as root).
/// </summary>
public sealed class ChaosTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-chaos-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public async Task Under_each_fault_every_run_completes_with_classify_labels_or_fails_naming_the_cause()
    {
        string state = Path.Combine(_folder, "state");
        Directory.CreateDirectory(state);
        using (Process mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=700m", "tmpfs", state]) { RedirectStandardError = true })!)
        {
            mount.WaitForExit();
            Skip.If(mount.ExitCode != 0, $"mounting a tmpfs needs root: {mount.StandardError.ReadToEnd().Trim()}");
        }

        try
        {
            CliResult result = await CliRun.RunAsync(
                "bench", "--chaos", "24", "--faults", "LateDuplicates", "KillWorker", "FreezeStorage", "FreezeCosmos", "FillDisk",
                "--state", state, "--work", Path.Combine(_folder, "work"));
            string said = result.Output + result.Error;
            Assert.True(result.ExitCode == 0, said);

            // Each fault happened, and bit: the disk was filled, something was duplicated, the emulators were frozen.
            Assert.Matches(@"LateDuplicates: [1-9]\d* range message\(s\) sent again", said);
            Assert.Contains("KillWorker: a worker process killed (SIGKILL)", said);
            Assert.Contains("FreezeStorage: Azurite frozen for", said);
            Assert.Contains("FreezeCosmos: cosmosdb-server frozen for", said);
            Assert.Matches(@"FillDisk: \S+ filled \([1-9]\d* MB\)", said);

            Assert.Contains("stuck: 0", said);
            int completed = int.Parse(System.Text.RegularExpressions.Regex.Match(said, @"runs completed: (\d+)").Groups[1].Value);
            Assert.Contains($"labels equal to classify: {completed} of {completed} completed runs", said);
            int refused = int.Parse(System.Text.RegularExpressions.Regex.Match(said, @"refused with a reason: (\d+)").Groups[1].Value);
            int failed = int.Parse(System.Text.RegularExpressions.Regex.Match(said, @"failed with a reason: (\d+)").Groups[1].Value);
            Assert.Equal(24, completed + failed + refused);
        }
        finally
        {
            using Process umount = Process.Start("umount", ["-l", state]);
            umount.WaitForExit();
        }
    }
}
