using System.Buffers.Binary;
using System.Diagnostics;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Fuzzing;

/// <summary>One mutated file and what reading it came to.</summary>
/// <param name="Outcome">"read", "refused: {reason}", or, for a defect, "unexpected {type}: {message}" or "timed out".</param>
public sealed record FuzzCase(int Index, string Base, string Mutation, string Outcome, double Seconds)
{
    public bool IsDefect => Outcome.StartsWith("unexpected", StringComparison.Ordinal) || Outcome == "timed out";
}

public sealed record FuzzReport(int Seed, IReadOnlyList<FuzzCase> Cases)
{
    public IReadOnlyList<FuzzCase> Defects => [.. Cases.Where(c => c.IsDefect)];

    public int Read => Cases.Count(c => c.Outcome == "read");

    public int Refused => Cases.Count(c => c.Outcome.StartsWith("refused", StringComparison.Ordinal));
}

/// <summary>
/// Feeds the slide readers mutated TIFF files, generated from a seed: bytes flipped in the header and directories, tag
/// types, counts and offsets set to extremes, image and tile sizes set to the impossible, directory loops, truncations.
/// Each file is opened, described, read at a thumbnail's downsample and read in a small region. Every case must end
/// read or refused with the product's own <see cref="DeepSlideException"/>: any other exception, or a case outlasting
/// its time, is a defect. The same seed gives the same files.
/// </summary>
public static class SlideReaderFuzzer
{
    private static readonly long[] Extremes = [0, 1, 2, 15, 16, 255, 65_535, 65_536, 1L << 20, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue];

    public static FuzzReport Run(string folder, int count, int seed, TimeSpan caseTimeout, Action<FuzzCase>? progress = null)
    {
        Directory.CreateDirectory(folder);
        IReadOnlyList<(string Name, byte[] Bytes)> bases = Bases(folder);
        var random = new Random(seed);
        var cases = new List<FuzzCase>();
        for (int i = 0; i < count; i++)
        {
            (string name, byte[] original) = bases[random.Next(bases.Count)];
            byte[] bytes = (byte[])original.Clone();
            string mutation = Mutate(ref bytes, random);
            string path = Path.Combine(folder, $"case{i % 4}{Path.GetExtension(name)}");
            File.WriteAllBytes(path, bytes);
            var watch = Stopwatch.StartNew();
            Task<string> attempt = Task.Run(() => Attempt(path));
            string outcome = attempt.Wait(caseTimeout) ? attempt.Result : "timed out";
            var fuzzCase = new FuzzCase(i, name, mutation, outcome, watch.Elapsed.TotalSeconds);
            cases.Add(fuzzCase);
            progress?.Invoke(fuzzCase);
            if (outcome == "timed out")
            {
                // The file may still be in use by the stuck read: later cases take other names.
                break;
            }
        }

        return new FuzzReport(seed, cases);
    }

    private static string Attempt(string path)
    {
        try
        {
            using ISlideReader reader = SlideReader.Open(path);
            SlideInfo info = reader.Info;
            _ = reader.ReadThumbnail(256);
            SlideLevel last = info.Levels[^1];
            int w = (int)Math.Min(64, last.Width), h = (int)Math.Min(64, last.Height);
            if (w > 0 && h > 0)
            {
                _ = reader.ReadRegion(last.Index, 0, 0, w, h);
            }

            return "read";
        }
        catch (DeepSlideException ex)
        {
            return $"refused: {ex.Problem}";
        }
        catch (Exception ex)
        {
            return $"unexpected {ex.GetType().Name}: {ex.Message}";
        }
    }

    /// <summary>Small valid slides of each kind the readers take: Aperio SVS and generic pyramidal TIFF (OpenSlide).</summary>
    private static IReadOnlyList<(string Name, byte[] Bytes)> Bases(string folder)
    {
        var bases = new List<(string, byte[])>();
        foreach ((string name, SyntheticFormat format) in new[] { ("aperio.svs", SyntheticFormat.Aperio), ("generic.tif", SyntheticFormat.Tiff) })
        {
            string path = Path.Combine(folder, "base-" + name);
            if (!File.Exists(path))
            {
                SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", 1100, 800, 7)), path, format);
            }

            bases.Add((name, File.ReadAllBytes(path)));
        }

        return bases;
    }

    private static string Mutate(ref byte[] bytes, Random random)
    {
        List<(int Entry, int Tag)> entries = Entries(bytes);
        switch (random.Next(7))
        {
            case 0:
            {
                int flips = random.Next(1, 9);
                int limit = Math.Min(bytes.Length, 4096);
                var at = new List<int>();
                for (int i = 0; i < flips; i++)
                {
                    // Half in the first bytes (header, first directory's neighbourhood), half in a directory entry.
                    int offset = i % 2 == 0 || entries.Count == 0 ? random.Next(limit) : entries[random.Next(entries.Count)].Entry + random.Next(12);
                    bytes[offset] ^= (byte)random.Next(1, 256);
                    at.Add(offset);
                }

                return $"flipped bytes at {string.Join(',', at)}";
            }

            case 1 when entries.Count > 0:
            {
                (int entry, int tag) = entries[random.Next(entries.Count)];
                long value = Extremes[random.Next(Extremes.Length)];
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 4), (uint)value);
                return $"tag {tag} count {value}";
            }

            case 2 when entries.Count > 0:
            {
                (int entry, int tag) = entries[random.Next(entries.Count)];
                long value = random.Next(2) == 0 ? Extremes[random.Next(Extremes.Length)] : bytes.Length + random.Next(-16, 4096);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 8), (uint)value);
                return $"tag {tag} value/offset {value}";
            }

            case 3 when entries.Count > 0:
            {
                (int entry, int tag) = entries[random.Next(entries.Count)];
                int type = random.Next(0, 20);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(entry + 2), (ushort)type);
                return $"tag {tag} type {type}";
            }

            case 4 when entries.Any(e => e.Tag is 256 or 257 or 322 or 323):
            {
                var sizes = entries.Where(e => e.Tag is 256 or 257 or 322 or 323).ToList();
                (int entry, int tag) = sizes[random.Next(sizes.Count)];
                long value = Extremes[random.Next(Extremes.Length)];
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(entry + 2), 4);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 4), 1);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 8), (uint)value);
                return $"size tag {tag} = {value}";
            }

            case 5:
            {
                // The first directory's next pointer back to itself, or to the header.
                uint first = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
                if (first + 2 < bytes.Length)
                {
                    int n = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)first));
                    long next = first + 2 + (12L * n);
                    if (next + 4 <= bytes.Length)
                    {
                        uint target = random.Next(2) == 0 ? first : 0;
                        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)next), target);
                        return $"directory loop to {target}";
                    }
                }

                goto default;
            }

            default:
            {
                int length = random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 8192)) : random.Next(bytes.Length);
                bytes = bytes[..length];
                return $"truncated to {length} bytes";
            }
        }
    }

    /// <summary>Every directory entry of a classic little-endian TIFF: its offset and tag (a bounded walk).</summary>
    private static List<(int Entry, int Tag)> Entries(byte[] bytes)
    {
        var entries = new List<(int, int)>();
        if (bytes.Length < 8 || bytes[0] != 'I' || bytes[1] != 'I')
        {
            return entries;
        }

        long ifd = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        for (int directories = 0; directories < 16 && ifd > 0 && ifd + 2 <= bytes.Length; directories++)
        {
            int n = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)ifd));
            if (ifd + 2 + (12L * n) + 4 > bytes.Length)
            {
                break;
            }

            for (int i = 0; i < n; i++)
            {
                int entry = (int)ifd + 2 + (12 * i);
                entries.Add((entry, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(entry))));
            }

            ifd = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)ifd + 2 + (12 * n)));
        }

        return entries;
    }
}
