using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepSlide.Pipeline.Local;

/// <summary>An emulator process (Azurite, cosmosdb-server) on loopback ports: started, awaited, and killed with its children.</summary>
public sealed class LocalServer : IAsyncDisposable
{
    private readonly Process _process;

    private LocalServer(Process process) => _process = process;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The emulator runs under a shell that ends it within a second of the process that started it going away, so a
    // crashed test host or CLI never leaves an emulator behind: SIGTERM first (and SIGCONT, should it be paused), so
    // that Azurite saves what was written, then SIGKILL if it still runs 10 s later (a node server can ignore
    // SIGTERM). A terminal's Ctrl+C goes to its whole foreground process group: the shell ignores it, and the emulator
    // runs in a session of its own, so both keep serving while the stack that owns them shuts down in order.
    private const string Watchdog =
        "trap '' INT TERM HUP; setsid \"$@\" & child=$!; while kill -0 \"$DEEPSLIDE_OWNER\" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; " +
        "kill -TERM -$child 2>/dev/null; kill -CONT -$child 2>/dev/null; n=0; while kill -0 $child 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done; " +
        "kill -9 -$child 2>/dev/null; kill -9 $child 2>/dev/null; wait $child";

    /// <summary>
    /// Starts <paramref name="executable"/> on the <paramref name="requested"/> ports, a free one for each null, with
    /// the arguments made from the ports it gets. Ports picked free can be taken by another process before the
    /// emulator binds them (tests start emulators in parallel): if it then exits before listening, it is started again
    /// on newly picked ports, twice at most.
    /// </summary>
    public static async Task<(LocalServer Server, int[] Ports)> StartOnPortsAsync(string executable, int?[] requested, Func<int[], IEnumerable<string>> arguments)
    {
        for (int attempt = 1; ; attempt++)
        {
            int[] ports = [.. requested.Select(p => p ?? FreePort())];
            try
            {
                return (await StartAsync(executable, arguments(ports), ports), ports);
            }
            catch (EmulatorExitedException) when (requested.Any(p => p is null) && attempt < 3)
            {
            }
        }
    }

    /// <summary>Starts <paramref name="executable"/> and returns once every port accepts connections (30 s at most).</summary>
    public static Task<LocalServer> StartAsync(string executable, IEnumerable<string> arguments, params int[] ports) =>
        StartOwnedAsync(Environment.ProcessId, executable, arguments, ports);

    /// <summary>The same, ended when process <paramref name="owner"/> exits rather than this one.</summary>
    public static async Task<LocalServer> StartOwnedAsync(int owner, string executable, IEnumerable<string> arguments, params int[] ports)
    {
        if (!OnPath(executable))
        {
            throw new InvalidOperationException($"{executable} (npm) is needed and is not on PATH; scripts/prerequisites.sh installs it.");
        }

        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEEPSLIDE_OWNER"] = owner.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string a in (string[])["-c", Watchdog, "deepslide-emulator", executable, .. arguments])
        {
            start.ArgumentList.Add(a);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}.");
        var said = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                said.Enqueue(line);
                while (said.Count > 5 && said.TryDequeue(out _))
                {
                }
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (int port in ports)
        {
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
                catch (SocketException)
                {
                    bool exited = process.HasExited;
                    string why = exited ? $"exited with code {process.ExitCode}" : "did not listen within 30 s";
                    await new LocalServer(process).DisposeAsync();
                    string output = said.IsEmpty ? string.Empty : $" It said: {string.Join(" | ", said)}";
                    throw exited
                        ? new EmulatorExitedException($"{executable} {why} before it listened on port {port}.{output}")
                        : new InvalidOperationException($"{executable} {why} before it listened on port {port}.{output}");
                }
            }
        }

        return new LocalServer(process);
    }

    private static bool OnPath(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, executable)));

    /// <summary>Freezes the emulator (SIGSTOP to its process group), as a stalled disk or a paused VM would: it holds its connections and answers nothing. Returns once every process of the group is stopped.</summary>
    public Task PauseAsync() => SignalAsync("STOP", stopped: true);

    /// <summary>Lets a paused emulator go on (SIGCONT). Returns once no process of the group is stopped.</summary>
    public Task ResumeAsync() => SignalAsync("CONT", stopped: false);

    /// <summary>Whether the emulator is stopped by a signal (its state in /proc is T).</summary>
    internal async Task<bool> IsPausedAsync() => (await StatAsync((await EmulatorGroupAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture)))?[0] == "T";

    private async Task SignalAsync(string signal, bool stopped)
    {
        string group = (await EmulatorGroupAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, "--", "-" + group]) { RedirectStandardError = true })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} of the emulator's process group {group} failed: {await kill.StandardError.ReadToEndAsync()}");
        }

        // kill returns once the signal is queued; each process changes state only when the scheduler next runs it, which on a loaded machine is later.
        var waited = Stopwatch.StartNew();
        while (!(await GroupStatesAsync(group)).All(state => stopped ? state is "T" or "Z" : state != "T"))
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"the emulator's process group {group} was not {(stopped ? "stopped" : "running")} 10 s after SIG{signal}.");
            }

            await Task.Delay(10);
        }
    }

    private static async Task<List<string>> GroupStatesAsync(string group)
    {
        var states = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            string pid = Path.GetFileName(dir);
            if (pid.All(char.IsAsciiDigit) && await StatAsync(pid) is { } fields && fields[2] == group)
            {
                states.Add(fields[0]);
            }
        }

        return states;
    }

    // The emulator is the watchdog shell's child that leads a process group of its own (setsid); the other is its sleep.
    private async Task<int> EmulatorGroupAsync()
    {
        string children = await File.ReadAllTextAsync($"/proc/{_process.Id}/task/{_process.Id}/children");
        foreach (string child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (await StatAsync(child) is { } fields && fields[2] == child)
            {
                return int.Parse(child, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"the emulator under watchdog {_process.Id} is not running.");
    }

    // The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ...; null once the process is gone.
    private static async Task<string[]?> StatAsync(string pid)
    {
        try
        {
            string stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Stops the emulator with SIGTERM, so that one keeping data on disk saves it (Azurite, killed at once, loses
    /// the containers and blobs written in its last seconds), then kills whatever is left: a node server can outlive
    /// SIGTERM, and a paused one is resumed to take it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await TerminateAsync(TimeSpan.FromSeconds(10));
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task TerminateAsync(TimeSpan limit)
    {
        string group;
        try
        {
            group = (await EmulatorGroupAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return;
        }

        foreach (string signal in new[] { "TERM", "CONT" })
        {
            using Process kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, "--", "-" + group]) { RedirectStandardError = true })!;
            await kill.WaitForExitAsync();
        }

        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < limit && (await GroupStatesAsync(group)).Any(state => state != "Z"))
        {
            await Task.Delay(20);
        }
    }
}

/// <summary>An emulator ended before it listened: on ports picked free a moment before, usually another process took one.</summary>
public sealed class EmulatorExitedException(string message) : InvalidOperationException(message);
