namespace DeepSlide.Datasets;

public enum SplitPart
{
    Train,
    Val,
    Test,
}

public sealed record SplitSlide(LabelledSlide Slide, SplitPart Part);

/// <summary>Splits slides (never patches) into train, validation and test, per class, reproducibly from a seed.</summary>
public static class DatasetSplit
{
    public static IReadOnlyList<SplitSlide> Split(SlideDataset dataset, double valFraction, double testFraction, int seed)
    {
        if (valFraction < 0 || testFraction < 0 || valFraction + testFraction >= 1)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidArgument,
                dataset.Folder,
                $"validation ({valFraction}) and test ({testFraction}) fractions must be non-negative and leave some slides for training.");
        }

        var result = new List<SplitSlide>();
        foreach (string className in dataset.Classes)
        {
            List<LabelledSlide> slides = dataset.Slides.Where(s => s.ClassName == className).OrderBy(s => s.Path, StringComparer.Ordinal).ToList();
            var random = new Random(StableSeed(seed, className));
            for (int i = slides.Count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (slides[i], slides[j]) = (slides[j], slides[i]);
            }

            int n = slides.Count;
            int test = Count(n, testFraction);
            int val = Count(n, valFraction);
            int needed = 1 + (valFraction > 0 ? 1 : 0) + (testFraction > 0 ? 1 : 0);
            if (n - val - test < 1)
            {
                throw new DeepSlideException(
                    DeepSlideErrorReason.InvalidDataset,
                    Path.Combine(dataset.Folder, className),
                    $"class '{className}' has {n} slide(s); at least {needed} are needed for a train/val/test split by slide.");
            }

            for (int k = 0; k < n; k++)
            {
                SplitPart part = k < test ? SplitPart.Test : k < test + val ? SplitPart.Val : SplitPart.Train;
                result.Add(new SplitSlide(slides[k], part));
            }
        }

        return result;
    }

    // At least one slide for a part that was asked for, as long as one is left for training.
    private static int Count(int n, double fraction) => fraction <= 0 ? 0 : Math.Max(1, (int)Math.Round(n * fraction));

    /// <summary>
    /// A seed derived from a seed and a name that is the same in every process (HashCode and string.GetHashCode
    /// are randomised per process, so they cannot make a split reproducible).
    /// </summary>
    internal static int StableSeed(int seed, string name)
    {
        unchecked
        {
            int hash = seed * 486_187_739 + 17;
            foreach (char c in name)
            {
                hash = hash * 31 + c;
            }

            return hash;
        }
    }
}
