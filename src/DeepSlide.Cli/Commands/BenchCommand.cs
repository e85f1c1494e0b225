using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeepSlide.Patches;
using DeepSlide.Pipeline.Local;
using DeepSlide.Slides;
using DeepSlide.Slides.Fuzzing;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Cli.Commands;

/// <summary>Throughput and memory benchmarks on synthetic slides. Not a test: it prints numbers and never fails on them.</summary>
internal static class BenchCommand
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    private static int Fuzz(string folder, int count, int seed)
    {
        var watch = Stopwatch.StartNew();
        FuzzReport report = SlideReaderFuzzer.Run(folder, count, seed, TimeSpan.FromSeconds(60), c =>
        {
            // Each case is printed before the next starts, so a crash of the process still names the last one.
            if (c.IsDefect || c.Index % 100 == 0)
            {
                Console.WriteLine(string.Create(C, $"case {c.Index} ({c.Base}, {c.Mutation}): {c.Outcome} [{c.Seconds:0.00} s]"));
            }
        });
        Console.WriteLine(string.Create(C, $"fuzz seed {seed}: {report.Cases.Count} cases in {watch.Elapsed.TotalSeconds:0.0} s: {report.Read} read, {report.Refused} refused, {report.Defects.Count} defects; slowest {report.Cases.Max(c => c.Seconds):0.00} s"));
        return report.Defects.Count == 0 ? 0 : 1;
    }

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the benchmark slides (kept between runs).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "deepslide-bench") };
        var memory = new Option<bool>("--memory") { Description = "Also compare peak memory streaming a 10,000² and a 60,000² slide (writes a large slide once).", DefaultValueFactory = _ => true };
        var classify = new Option<bool>("--classify") { Description = "Also measure inference: the bare model against end-to-end classification of a slide.", DefaultValueFactory = _ => true };
        var fuzz = new Option<int>("--fuzz") { Description = "Instead: feed the slide readers this many mutated TIFFs and report any that end in an error other than the product's own, or hang." };
        var seed = new Option<int>("--seed") { Description = "Seed of the --fuzz mutations and the --chaos faults.", DefaultValueFactory = _ => 1 };
        var viewer = new Option<bool>("--viewer") { Description = "Instead: the viewer's page load on the local stack with a 60,000 x 40,000 slide (first tile of a slide never opened, warm tile latency, bytes fetched for a full-resolution screen)." };
        var chaos = new Option<int>("--chaos") { Description = "Instead: upload this many slides to a local stack while freezing its emulators, killing workers, sending late duplicates and filling its disk at random; report runs completed, failed with a reason, stuck, and labels equal to classify." };
        var faults = new Option<ChaosFault[]>("--faults") { Description = "With --chaos: these faults in this order instead of random ones.", AllowMultipleArgumentsPerToken = true };
        var state = new Option<string?>("--state") { Description = "With --chaos: the stack's folder (default: under --work). On a small file system (a tmpfs) the disk fault fills it." };
        var inference = new InferenceOptionSet();
        var command = new Command("bench", "Measure planning, patch reading and streaming throughput, inference throughput, and peak memory.") { work, memory, classify, fuzz, seed, viewer, chaos, faults, state };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(work)!;
            Directory.CreateDirectory(folder);
            if (parse.GetValue(viewer))
            {
                return await ViewerBench.RunAsync(folder, 60_000, 40_000, cancellationToken);
            }

            if (parse.GetValue(chaos) is int uploads and > 0)
            {
                return await ChaosBench.RunAsync(folder, parse.GetValue(state) ?? Path.Combine(folder, "chaos-stack"), uploads, parse.GetValue(faults), parse.GetValue(seed), cancellationToken);
            }

            if (parse.GetValue(fuzz) is int cases and > 0)
            {
                return Fuzz(Path.Combine(folder, "fuzz"), cases, parse.GetValue(seed));
            }

            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");
            string slide = EnsureSlide(folder, 20_000, 15_000);

            var planTimes = new List<double>();
            TilePlan plan = null!;
            for (int i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                using ISlideReader r = SlideReader.Open(slide);
                plan = TilePlanner.Plan(r, new TilingOptions());
                planTimes.Add(sw.Elapsed.TotalSeconds);
            }

            planTimes.Sort();
            Console.WriteLine(string.Create(C, $"plan (open, otsu mask, tile plan) 20000x15000: {planTimes[1]:0.000} s median of 3; {plan.GridTileCount} grid tiles, {plan.Tiles.Count} with tissue ({plan.GridTileCount / planTimes[1]:0} tiles/s filtered)"));

            using ISlideReader reader = SlideReader.Open(slide);
            IReadOnlyList<Tile> sample = plan.Tiles.Take(3000).ToList();
            var buffer = new byte[224 * 224 * 3];
            var watch = Stopwatch.StartNew();
            foreach (Tile t in sample)
            {
                reader.ReadRegion(0, t.X, t.Y, 224, 224, buffer);
            }

            Console.WriteLine(string.Create(C, $"read one patch at a time, 1 thread: {sample.Count / watch.Elapsed.TotalSeconds:0} patches/s"));
            watch.Restart();
            Parallel.ForEach(sample, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new byte[224 * 224 * 3], (t, _, b) =>
            {
                reader.ReadRegion(0, t.X, t.Y, 224, 224, b);
                return b;
            }, _ => { });
            Console.WriteLine(string.Create(C, $"read one patch at a time, {Environment.ProcessorCount} threads: {sample.Count / watch.Elapsed.TotalSeconds:0} patches/s"));

            watch.Restart();
            int purple = 0;
            for (int i = 0; i < 3000; i++)
            {
                purple += PurpleRule.IsTissue(buffer, 224) ? 1 : 0;
            }

            Console.WriteLine(string.Create(C, $"purple rule on a 224² patch: {3000 / watch.Elapsed.TotalSeconds:0} patches/s"));

            (int count, double seconds) = await StreamAll(reader, plan, cancellationToken);
            Console.WriteLine(string.Create(C, $"stream all tissue patches (level 0, 224²): {count} in {seconds:0.00} s = {count / seconds:0} patches/s"));
            double readRate = count / seconds;

            EvaluationBench.Run(folder);
            if (parse.GetValue(classify))
            {
                await InferenceBench.RunAsync(folder, slide, inference.Read(parse), readRate, cancellationToken);
            }

            if (parse.GetValue(memory))
            {
                Console.WriteLine($"memory runs in child processes with MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "2"}");
                foreach (int side in new[] { 10_000, 60_000 })
                {
                    string big = EnsureSlide(folder, side, side);
                    string result = RunChild(["bench-stream", big]);
                    Console.WriteLine($"stream {side}x{side}: {result}");
                }

                if (parse.GetValue(classify))
                {
                    // Classifying a whole 60,000² slide takes minutes on a CPU; a sparse one has as many patches as the
                    // 10,000² slide but the same plan, mask and reads to manage, which is what memory could grow with.
                    string small = EnsureSlide(folder, 10_000, 10_000);
                    string sparse = EnsureSlide(folder, 60_000, 60_000, coverage: 0.03);
                    foreach ((string precision, string bundle) in new[] { ("fp32", InferenceBench.EnsureBundle(folder)), ("int8", await InferenceBench.EnsureInt8BundleAsync(folder, slide, cancellationToken)) })
                    {
                        Console.WriteLine($"classify 10000x10000, {precision}: {RunChild(["bench-classify", bundle, small])}");
                        Console.WriteLine($"classify 60000x60000 (3% tissue), {precision}: {RunChild(["bench-classify", bundle, sparse])}");
                    }
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>The child process of the memory benchmark: plans and streams one slide, then reports its own peak RSS.</summary>
    public static Command CreateStreamChild()
    {
        var slide = new Argument<string>("slide");
        var command = new Command("bench-stream", "Plan and stream one slide, then print patches/s and peak RSS (used by bench).") { slide };
        command.Hidden = true;
        command.SetAction(async (parse, cancellationToken) =>
        {
            using ISlideReader reader = SlideReader.Open(parse.GetValue(slide)!);
            TilePlan plan = TilePlanner.Plan(reader, new TilingOptions());
            (int count, double seconds) = await StreamAll(reader, plan, cancellationToken);
            Console.WriteLine(string.Create(C, $"{count} patches in {seconds:0.0} s ({count / seconds:0}/s), peak RSS {PeakRssMegabytes():0} MB"));
            if (Environment.GetEnvironmentVariable("DEEPSLIDE_BENCH_DEBUG") is not null)
            {
                Console.WriteLine(string.Join(" ", File.ReadLines("/proc/self/status").Where(l => l.StartsWith("Rss") || l.StartsWith("VmHWM"))));
                Console.WriteLine($"gc heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1e6:0} MB, total allocated {GC.GetTotalAllocatedBytes() / 1e6:0} MB, gen2 {GC.CollectionCount(2)}, pool threads {ThreadPool.ThreadCount}, process threads {System.Diagnostics.Process.GetCurrentProcess().Threads.Count}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>The child process of the classification memory benchmark.</summary>
    public static Command CreateClassifyChild()
    {
        var bundle = new Argument<string>("bundle");
        var slide = new Argument<string>("slide");
        var command = new Command("bench-classify", "Classify one slide, then print patches/s and peak RSS (used by bench).") { bundle, slide };
        command.Hidden = true;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var model = Inference.ModelBundle.Load(parse.GetValue(bundle)!);
            using var classifier = Inference.PatchClassifier.Load(model);
            using ISlideReader reader = SlideReader.Open(parse.GetValue(slide)!);
            var watch = Stopwatch.StartNew();
            var result = await Inference.SlideClassifier.ClassifyAsync(reader, classifier, Aggregation.Aggregators.FromManifest(model.Manifest), cancellationToken: cancellationToken);
            double seconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(C, $"{result.Patches.Count} patches in {seconds:0.0} s ({result.Patches.Count / seconds:0}/s), peak RSS {PeakRssMegabytes():0} MB"));
            return 0;
        });
        return command;
    }

    private static async Task<(int Count, double Seconds)> StreamAll(ISlideReader reader, TilePlan plan, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        int count = 0;
        long checksum = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, cancellationToken: cancellationToken))
        {
            checksum += patch.Pixels[patch.ByteCount / 2];
            patch.Dispose();
            count++;
        }

        GC.KeepAlive(checksum);
        return (count, watch.Elapsed.TotalSeconds);
    }

    internal static string EnsureSlide(string folder, int width, int height, double coverage = 0.4)
    {
        string path = Path.Combine(folder, coverage == 0.4 ? $"bench-{width}x{height}.svs" : string.Create(C, $"bench-{width}x{height}-{coverage * 100:0}pct.svs"));
        if (!File.Exists(path))
        {
            var watch = Stopwatch.StartNew();
            string partial = path + ".partial";
            var spec = new SyntheticSlideSpec("adenocarcinoma", width, height, Seed: 7) { BenignFraction = 0.3, TissueCoverage = coverage };
            SyntheticSlideWriter.Write(new SyntheticSlide(spec), partial, SyntheticFormat.Aperio);
            File.Move(partial, path);
            Console.WriteLine(string.Create(C, $"wrote {path} ({new FileInfo(path).Length / 1e6:0} MB) in {watch.Elapsed.TotalSeconds:0.0} s"));
        }

        return path;
    }

    private static double PeakRssMegabytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line[6..].Trim().Split(' ')[0], C) / 1024;
            }
        }

        return double.NaN;
    }

    /// <summary>The command line that runs this CLI again: its apphost, or <c>dotnet deepslide.dll</c>.</summary>
    internal static IReadOnlyList<string> Self()
    {
        string executable = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(executable) == "dotnet" ? [executable, typeof(BenchCommand).Assembly.Location] : [executable];
    }

    private static string RunChild(string[] arguments)
    {
        IReadOnlyList<string> self = Self();
        var start = new ProcessStartInfo(self[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        // The recommended setting for long slide reads (README): glibc otherwise keeps freed JPEG-decoding memory
        // in one arena per reader thread, and peak memory creeps up with how long a slide is read.
        if (Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null)
        {
            start.Environment["MALLOC_ARENA_MAX"] = "2";
        }

        foreach (string a in self.Skip(1).Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Trim() : $"failed ({process.ExitCode}): {error.Trim()}";
    }
}
