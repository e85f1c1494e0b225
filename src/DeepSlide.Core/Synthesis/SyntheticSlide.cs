namespace DeepSlide.Synthesis;

/// <summary>What to synthesize: a slide of one class, optionally with part of its tissue benign.</summary>
public sealed record SyntheticSlideSpec(string ClassName, long Width, long Height, int Seed)
{
    /// <summary>Share of the tissue regions drawn as benign tissue instead of the slide's own class.</summary>
    public double BenignFraction { get; init; }

    /// <summary>Share of the slide area covered by tissue, roughly.</summary>
    public double TissueCoverage { get; init; } = 0.4;

    /// <summary>A lab's stain: a shift of every colour, on top of the slide's own staining batch.</summary>
    public (int R, int G, int B) StainShift { get; init; }
}

/// <summary>
/// A procedural whole-slide image: tissue blobs on a white background, each region textured with its class.
/// Any region can be rendered at any power-of-two downsample without rendering level 0.
/// </summary>
public sealed class SyntheticSlide
{
    /// <summary>The side, in level-0 pixels, of the cells that tissue regions are made of.</summary>
    public const int LayoutCell = 64;
    private static readonly byte[] Background = [244, 242, 245];
    private readonly float[] _field;
    private readonly byte[] _regionClass;
    private readonly int _layoutWidth;
    private readonly int _layoutHeight;
    private readonly float _threshold;
    private readonly TissueTexture[] _textures;

    public SyntheticSlide(SyntheticSlideSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Width < 1 || spec.Height < 1)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"a synthetic slide of {spec.Width}x{spec.Height} px is not allowed.");
        }

        Spec = spec;
        TissueClassStyle own = TissueClassStyle.Get(spec.ClassName);
        var random = new Random(spec.Seed);
        // One stain for the whole slide and a density per texture, each drawn per slide, so that colour and
        // nucleus density vary as much between slides as between classes.
        (int, int, int) stain = (spec.StainShift.R + random.Next(-16, 17), spec.StainShift.G + random.Next(-16, 17), spec.StainShift.B + random.Next(-16, 17));
        _textures =
        [
            new TissueTexture(own, random.Next(), stain, 0.75 + (0.55 * random.NextDouble())),
            new TissueTexture(TissueClassStyle.Benign, random.Next(), stain, 0.75 + (0.55 * random.NextDouble())),
        ];
        _layoutWidth = (int)(spec.Width / LayoutCell) + 2;
        _layoutHeight = (int)(spec.Height / LayoutCell) + 2;
        _field = BlobField(random, _layoutWidth, _layoutHeight);
        _threshold = Quantile(_field, 1 - spec.TissueCoverage);
        _regionClass = Regions(random, _layoutWidth, _layoutHeight, spec.ClassName == TissueClassStyle.Benign.Name ? 1.0 : spec.BenignFraction, IsTissueCell);
    }

    public SyntheticSlideSpec Spec { get; }

    // One point a cell is enough to share the tissue out between regions; the truth's outline (HoldsTissue) probes
    // finer, because a cell with tissue only at its edge must still be outlined.
    private bool IsTissueCell(int x, int y)
    {
        long cx = ((long)x * LayoutCell) + (LayoutCell / 2), cy = ((long)y * LayoutCell) + (LayoutCell / 2);
        return cx < Spec.Width && cy < Spec.Height && IsTissue(cx, cy);
    }

    /// <summary>
    /// Renders a <paramref name="width"/> x <paramref name="height"/> RGB region at <paramref name="downsample"/>;
    /// (<paramref name="x"/>, <paramref name="y"/>) are in pixels of that downsample.
    /// </summary>
    public void Render(int downsample, long x, long y, int width, int height, Span<byte> rgb)
    {
        var mips = new (byte[] Pixels, int Size, int Downsample)[_textures.Length];
        for (int t = 0; t < mips.Length; t++)
        {
            mips[t] = _textures[t].Mip(downsample);
        }

        int step = downsample / mips[0].Downsample;
        for (int j = 0; j < height; j++)
        {
            long y0 = (y + j) * downsample + downsample / 2;
            Span<byte> row = rgb.Slice(j * width * 3, width * 3);
            for (int i = 0; i < width; i++)
            {
                long x0 = (x + i) * downsample + downsample / 2;
                if (x0 >= Spec.Width || y0 >= Spec.Height || !IsTissue(x0, y0))
                {
                    row[i * 3] = Background[0];
                    row[i * 3 + 1] = Background[1];
                    row[i * 3 + 2] = Background[2];
                    continue;
                }

                (byte[] tex, int size, _) = mips[_regionClass[(int)(y0 / LayoutCell) * _layoutWidth + (int)(x0 / LayoutCell)]];
                int tx = (int)((x + i) * step % size), ty = (int)((y + j) * step % size);
                int k = (ty * size + tx) * 3;
                row[i * 3] = tex[k];
                row[i * 3 + 1] = tex[k + 1];
                row[i * 3 + 2] = tex[k + 2];
            }
        }
    }

    /// <summary>Whether level-0 pixel (x, y) is tissue.</summary>
    public bool IsTissue(long x, long y)
    {
        double gx = (double)x / LayoutCell, gy = (double)y / LayoutCell;
        int ix = (int)gx, iy = (int)gy;
        float fx = (float)(gx - ix), fy = (float)(gy - iy);
        int w = _layoutWidth;
        float a = _field[iy * w + ix], b = _field[iy * w + ix + 1];
        float c = _field[(iy + 1) * w + ix], d = _field[(iy + 1) * w + ix + 1];
        return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy > _threshold;
    }

    /// <summary>The class drawn at level-0 pixel (x, y) when it is tissue: the slide's own, or benign.</summary>
    public string ClassAt(long x, long y) =>
        _regionClass[(int)(y / LayoutCell) * _layoutWidth + (int)(x / LayoutCell)] == 0 ? Spec.ClassName : TissueClassStyle.Benign.Name;

    /// <summary>
    /// The region truth at one pixel per <see cref="LayoutCell"/>: the class drawn in each cell (the slide's own or
    /// benign), or null where the cell's centre is background.
    /// </summary>
    public (int Width, int Height, string?[] Classes) RegionMap()
    {
        int w = (int)((Spec.Width + LayoutCell - 1) / LayoutCell), h = (int)((Spec.Height + LayoutCell - 1) / LayoutCell);
        var map = new string?[w * h];
        for (int j = 0; j < h; j++)
        {
            for (int i = 0; i < w; i++)
            {
                long x = Math.Min(Spec.Width - 1, ((long)i * LayoutCell) + (LayoutCell / 2));
                long y = Math.Min(Spec.Height - 1, ((long)j * LayoutCell) + (LayoutCell / 2));
                map[(j * w) + i] = IsTissue(x, y) ? ClassAt(x, y) : null;
            }
        }

        return (w, h, map);
    }

    /// <summary>
    /// The cells drawn in the slide's own class that hold tissue (any of 16 x 16 points across them), as (column, row)
    /// in layout cells: what a pathologist would outline, not the background around it.
    /// </summary>
    public IEnumerable<(int Column, int Row)> OwnClassCells()
    {
        int w = (int)((Spec.Width + LayoutCell - 1) / LayoutCell), h = (int)((Spec.Height + LayoutCell - 1) / LayoutCell);
        for (int j = 0; j < h; j++)
        {
            for (int i = 0; i < w; i++)
            {
                if (_regionClass[(j * _layoutWidth) + i] == 0 && HoldsTissue(i, j))
                {
                    yield return (i, j);
                }
            }
        }
    }

    private bool HoldsTissue(int column, int row)
    {
        const int Step = LayoutCell / 16;
        for (int v = 0; v < 16; v++)
        {
            for (int u = 0; u < 16; u++)
            {
                long x = ((long)column * LayoutCell) + (u * Step) + (Step / 2), y = ((long)row * LayoutCell) + (v * Step) + (Step / 2);
                if (x < Spec.Width && y < Spec.Height && IsTissue(x, y))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Tissue is the high part of a smooth field made of Gaussian blobs plus ripples, so borders are irregular.
    private static float[] BlobField(Random random, int w, int h)
    {
        var field = new float[w * h];
        int blobs = Math.Clamp(w * h / 400, 3, 400);
        for (int b = 0; b < blobs; b++)
        {
            double cx = random.NextDouble() * w, cy = random.NextDouble() * h;
            double sx = Math.Max(2, Math.Sqrt(w * h / (double)blobs) * (0.3 + 0.5 * random.NextDouble()));
            double sy = sx * (0.5 + random.NextDouble());
            int x0 = Math.Max(0, (int)(cx - 3 * sx)), x1 = Math.Min(w, (int)(cx + 3 * sx) + 1);
            int y0 = Math.Max(0, (int)(cy - 3 * sy)), y1 = Math.Min(h, (int)(cy + 3 * sy) + 1);
            for (int y = y0; y < y1; y++)
            {
                for (int x = x0; x < x1; x++)
                {
                    double u = (x - cx) / sx, v = (y - cy) / sy;
                    field[y * w + x] += (float)Math.Exp(-(u * u + v * v) / 2);
                }
            }
        }

        for (int i = 0; i < field.Length; i++)
        {
            field[i] += (float)(random.NextDouble() * 0.15);
        }

        // Keep a margin of background, as on a real glass slide.
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double edge = Math.Min(Math.Min(x, w - 1 - x) / (double)w, Math.Min(y, h - 1 - y) / (double)h);
                if (edge < 0.04)
                {
                    field[y * w + x] *= (float)(edge / 0.04);
                }
            }
        }

        return field;
    }

    // Voronoi regions over a jittered grid of seeds (one per 8 x 8 cells, so the cost stays linear in the layout size),
    // each the slide's own class (0) or benign (1). The share is of the tissue, not of the layout: regions are taken
    // for the slide's class in random order, the first with tissue and then each that brings the class's share of the
    // tissue cells nearer the requested one, so a focus is never drawn on the background alone.
    private static byte[] Regions(Random random, int w, int h, double benignFraction, Func<int, int, bool> isTissueCell)
    {
        const int Block = 8;
        int bw = w / Block + 1, bh = h / Block + 1;
        var sx = new double[bw * bh];
        var sy = new double[bw * bh];
        for (int s = 0; s < sx.Length; s++)
        {
            sx[s] = (s % bw + random.NextDouble()) * Block;
            sy[s] = (s / bw + random.NextDouble()) * Block;
        }

        int[] order = Enumerable.Range(0, sx.Length).ToArray();
        random.Shuffle(order);

        var owner = new int[w * h];
        var tissueOf = new int[sx.Length];
        int tissue = 0;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int bx = x / Block, by = y / Block, best = 0;
                double bestD = double.MaxValue;
                for (int ny = Math.Max(0, by - 1); ny <= Math.Min(bh - 1, by + 1); ny++)
                {
                    for (int nx = Math.Max(0, bx - 1); nx <= Math.Min(bw - 1, bx + 1); nx++)
                    {
                        int s = ny * bw + nx;
                        double d = (x - sx[s]) * (x - sx[s]) + (y - sy[s]) * (y - sy[s]);
                        if (d < bestD)
                        {
                            bestD = d;
                            best = s;
                        }
                    }
                }

                owner[y * w + x] = best;
                if (isTissueCell(x, y))
                {
                    tissueOf[best]++;
                    tissue++;
                }
            }
        }

        var cls = new byte[sx.Length];
        Array.Fill(cls, (byte)1);
        double wanted = (1 - benignFraction) * tissue;
        int own = 0;
        foreach (int s in order)
        {
            // The first region with tissue is always taken: a slide of a tumour class holds some tumour.
            if (benignFraction <= 0 || (tissueOf[s] > 0 && wanted > 0 && (own == 0 || Math.Abs(own + tissueOf[s] - wanted) < Math.Abs(own - wanted))))
            {
                cls[s] = 0;
                own += tissueOf[s];
            }
        }

        var map = new byte[w * h];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = cls[owner[i]];
        }

        return map;
    }

    private static float Quantile(float[] values, double q)
    {
        float[] sorted = (float[])values.Clone();
        Array.Sort(sorted);
        return sorted[Math.Clamp((int)(q * (sorted.Length - 1)), 0, sorted.Length - 1)];
    }
}
