using DeepSlide.Imaging;
using DeepSlide.Slides;
using DeepSlide.Tissue;

namespace DeepSlide.Tiling;

/// <summary>Builds a tile plan: resolves the working resolution, computes a low-resolution tissue mask, keeps tissue tiles.</summary>
public static class TilePlanner
{
    public static TilePlan Plan(ISlideReader reader, TilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        SlideInfo slide = reader.Info;
        ResolvedResolution resolved = options.Resolution.Resolve(slide);
        TissueMasker masker = TissueMasker.Create(options.TissueMethod);

        // Sixteen mask pixels per window side: for DeepSlide's rule each mask pixel is then one 14 x 14 cell mean.
        // Very large slides get a coarser mask instead, so planning memory does not grow with slide area.
        double maskDownsample = Math.Max(
            resolved.Downsample * options.Window / PurpleRule.CellsPerSide,
            Math.Sqrt((double)slide.Width * slide.Height / options.MaxMaskPixels));
        RgbImage lowResolution = reader.ReadAtDownsample(maskDownsample);
        TissueMask mask = masker.Compute(lowResolution, maskDownsample);
        return Plan(slide, resolved, options with { MinTissueFraction = options.MinTissueFraction ?? masker.DefaultMinTissueFraction }, mask);
    }

    /// <summary>The plan for a slide of known geometry and mask; no pixels are read.</summary>
    /// <summary>Tiles per side of a block of the plan's order.</summary>
    public const int BlockSide = 16;

    public static TilePlan Plan(SlideInfo slide, ResolvedResolution resolved, TilingOptions options, TissueMask mask)
    {
        options.Validate();
        long workingWidth = (long)Math.Floor(slide.Width / resolved.Downsample);
        long workingHeight = (long)Math.Floor(slide.Height / resolved.Downsample);
        int window = options.Window;
        int stride = options.EffectiveStride;
        if (workingWidth < window || workingHeight < window)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.SlideTooSmall,
                slide.Path,
                $"the slide is {workingWidth}x{workingHeight} px at the working resolution, smaller than one {window}x{window} patch.");
        }

        IReadOnlyList<long> columns = TileGrid.Offsets(workingWidth, window, stride);
        IReadOnlyList<long> rows = TileGrid.Offsets(workingHeight, window, stride);
        double minTissue = options.MinTissueFraction ?? TissueMasker.Create(options.TissueMethod).DefaultMinTissueFraction;
        double size0 = window * resolved.Downsample;
        // Blocks of BlockSide x BlockSide tiles, row-major within a block and block after block: a contiguous range
        // of the plan is then a compact patch of the slide, so a worker that fetches only its range's bytes fetches
        // few tile rows of the file that another range needs too.
        var tiles = new List<Tile>();
        for (int blockRow = 0; blockRow < rows.Count; blockRow += BlockSide)
        {
            for (int blockColumn = 0; blockColumn < columns.Count; blockColumn += BlockSide)
            {
                for (int r = blockRow; r < Math.Min(rows.Count, blockRow + BlockSide); r++)
                {
                    long y = (long)Math.Round(rows[r] * resolved.Downsample);
                    for (int c = blockColumn; c < Math.Min(columns.Count, blockColumn + BlockSide); c++)
                    {
                        long x = (long)Math.Round(columns[c] * resolved.Downsample);
                        double fraction = mask.FractionOf(x, y, size0, size0);
                        if (fraction > minTissue)
                        {
                            tiles.Add(new Tile(tiles.Count, c, r, x, y, (float)fraction));
                        }
                    }
                }
            }
        }

        return new TilePlan
        {
            SlidePath = slide.Path,
            SlideWidth = slide.Width,
            SlideHeight = slide.Height,
            Level = resolved.Level.Index,
            LevelDownsample = resolved.Level.Downsample,
            Downsample = resolved.Downsample,
            Window = window,
            Stride = stride,
            Columns = columns.Count,
            Rows = rows.Count,
            TissueMethod = options.TissueMethod,
            MinTissueFraction = minTissue,
            Tiles = tiles,
            Mask = mask,
        };
    }
}
