using DeepSlide.Stain;

namespace DeepSlide.Core.Tests;

public class StainTests
{
    private static readonly double[] RuifrokH = Unit([0.65, 0.70, 0.29]);
    private static readonly double[] RuifrokE = Unit([0.07, 0.99, 0.11]);

    private static double[] Unit(double[] v) => v.Select(x => x / Math.Sqrt(v.Sum(y => y * y))).ToArray();

    private static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b) => a.Zip(b, (x, y) => x * y).Sum();

    /// <summary>An H&amp;E image made by Beer-Lambert from known stain vectors and random concentrations.</summary>
    private static byte[] Stained(double[] h, double[] e, int seed, double hScale = 1.2, double eScale = 0.9, int pixels = 4000)
    {
        var random = new Random(seed);
        var rgb = new byte[pixels * 3];
        for (int i = 0; i < pixels; i++)
        {
            double ch = random.NextDouble() * hScale, ce = random.NextDouble() * eScale;
            for (int c = 0; c < 3; c++)
            {
                rgb[i * 3 + c] = (byte)Math.Clamp((int)Math.Round(256 * Math.Exp(-(h[c] * ch + e[c] * ce)) - 1), 0, 255);
            }
        }

        return rgb;
    }

    // Macenko drops pixels thinner than beta in any channel, which biases the eosin vector a little towards
    // haematoxylin on images with many pale pixels; 0.98 allows for that.
    [Fact]
    public void Macenko_recovers_the_stain_vectors_an_image_was_made_with()
    {
        var normalizer = MacenkoNormalizer.Fit(Stained(RuifrokH, RuifrokE, 1));
        Assert.True(Cosine(normalizer.Haematoxylin, RuifrokH) > 0.98, $"H {string.Join(",", normalizer.Haematoxylin)}");
        Assert.True(Cosine(normalizer.Eosin, RuifrokE) > 0.98, $"E {string.Join(",", normalizer.Eosin)}");
    }

    [Fact]
    public void Macenko_maps_another_staining_onto_the_target_vectors()
    {
        var target = MacenkoNormalizer.Fit(Stained(RuifrokH, RuifrokE, 1));
        double[] otherH = Unit([0.5, 0.8, 0.33]), otherE = Unit([0.2, 0.95, 0.25]);
        byte[] other = Stained(otherH, otherE, 2, hScale: 0.7, eScale: 1.3);
        target.Apply(other);
        var refit = MacenkoNormalizer.Fit(other);
        Assert.True(Cosine(refit.Haematoxylin, RuifrokH) > 0.98);
        Assert.True(Cosine(refit.Eosin, RuifrokE) > 0.98);
        Assert.Equal(target.Target[6], refit.Target[6], 0.1);
    }

    [Fact]
    public void Macenko_leaves_background_alone()
    {
        var target = MacenkoNormalizer.Fit(Stained(RuifrokH, RuifrokE, 1));
        byte[] white = Enumerable.Repeat((byte)245, 300).ToArray();
        target.Apply(white);
        Assert.All(white, v => Assert.Equal(245, v));
    }

    [Fact]
    public void Reinhard_gives_a_patch_the_targets_colour_statistics()
    {
        byte[] reference = Stained(RuifrokH, RuifrokE, 3);
        var normalizer = ReinhardNormalizer.Fit(reference);
        byte[] other = Stained(Unit([0.5, 0.8, 0.33]), Unit([0.2, 0.95, 0.25]), 4, hScale: 0.6);
        normalizer.Apply(other);
        (double[] mean, double[] std) = ReinhardNormalizer.Statistics(other);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(normalizer.Target[c], mean[c], 0.02);
            Assert.Equal(normalizer.Target[3 + c], std[c], 0.02);
        }
    }

    [Fact]
    public void Lab_conversion_round_trips_within_rounding()
    {
        Span<double> lab = stackalloc double[3];
        foreach ((int r, int g, int b) in new[] { (0, 0, 0), (255, 255, 255), (200, 120, 180), (12, 250, 90) })
        {
            ReinhardNormalizer.ToLab(r, g, b, lab);
            (byte r2, byte g2, byte b2) = ReinhardNormalizer.FromLab(lab);
            Assert.InRange(Math.Abs(r2 - r) + Math.Abs(g2 - g) + Math.Abs(b2 - b), 0, 3);
        }
    }

    [Fact]
    public void Normalisers_rebuild_from_their_recorded_targets_and_refuse_bad_ones()
    {
        var fitted = MacenkoNormalizer.Fit(Stained(RuifrokH, RuifrokE, 1));
        StainNormalizer rebuilt = StainNormalizer.Create("macenko", fitted.Target)!;
        byte[] a = Stained(RuifrokE, RuifrokH, 5), b = (byte[])a.Clone();
        fitted.Apply(a);
        rebuilt.Apply(b);
        Assert.Equal(a, b);
        Assert.Null(StainNormalizer.Create("none", null));
        Assert.Throws<DeepSlideException>(() => StainNormalizer.Create("vahadane", [1]));
        Assert.Throws<DeepSlideException>(() => StainNormalizer.Create("reinhard", [1, 2, 3]));
    }
}
