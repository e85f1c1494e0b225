using System.Diagnostics;
using System.Globalization;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// DeepSlide's own framework as a peer, measured in the same run when it is installed (Debian's python3-torch and
/// python3-torchvision): torchvision's ResNet-18 forward pass, batch 16, on the same number of threads.
/// </summary>
internal static class PyTorchPeer
{
    private const string Script = """
        import sys, time
        try:
            import torch, torchvision
        except ImportError as e:
            print("missing", e.name); sys.exit(3)
        torch.set_num_threads(int(sys.argv[1]))
        model = torchvision.models.resnet18().eval()
        x = torch.rand(16, 3, 224, 224)
        with torch.no_grad():
            for _ in range(2):
                model(x)
            n, start = 0, time.perf_counter()
            while n < 64 or time.perf_counter() - start < 10:
                model(x)
                n += 16
        print(torch.__version__, n / (time.perf_counter() - start))
        """;

    /// <summary>Patches per second and torch's version, or why it was not measured.</summary>
    public static (double? Rate, string Said) Measure(int threads)
    {
        // Debian's packages install into its own interpreter, which a PATH python (pyenv, a venv) may shadow.
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "-c", Script, threads.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using Process process = Process.Start(start)!;
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                return (null, "PyTorch did not finish within 5 minutes");
            }

            string[] words = output.Result.Trim().Split(' ');
            return process.ExitCode switch
            {
                0 when words.Length == 2 && double.TryParse(words[1], CultureInfo.InvariantCulture, out double rate) => (rate, $"torch {words[0]}"),
                3 => (null, $"not installed here (python3 has no module '{words.ElementAtOrDefault(1)}'; Debian's python3-torch and python3-torchvision provide it)"),
                _ => (null, $"python3 failed ({process.ExitCode}): {error.Result.Trim().Split('\n')[^1]}"),
            };
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, "not installed here (no python3)");
        }
    }

    /// <summary>The CPU's int8 matrix instructions as Linux reports them.</summary>
    public static string Int8Instructions()
    {
        string flags = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? string.Empty : string.Empty;
        bool Has(string flag) => flags.Split(' ', ':', '\t').Contains(flag);
        return $"AVX-512 VNNI {(Has("avx512_vnni") ? "yes" : "no")}, AVX-VNNI {(Has("avx_vnni") ? "yes" : "no")}, AMX-INT8 {(Has("amx_int8") ? "yes" : "no")}";
    }
}
