using DeepSlide.Models;

namespace DeepSlide.Inference;

/// <summary>Interleaved RGB bytes to the planar float tensor a model expects, as its manifest describes.</summary>
public sealed class Preprocessor
{
    private readonly int _size;
    private readonly int[] _sourceChannel = new int[3];
    private readonly float[] _scale = new float[3];
    private readonly float[] _offset = new float[3];

    public Preprocessor(ModelInput input)
    {
        _size = input.Size;
        for (int c = 0; c < 3; c++)
        {
            _sourceChannel[c] = input.ChannelOrder == "BGR" ? 2 - c : c;
            // (v * pixelScale - mean) / std as one multiply-add.
            _scale[c] = (float)(input.PixelScale / input.Std[c]);
            _offset[c] = (float)(-input.Mean[c] / input.Std[c]);
        }
    }

    public void Fill(ReadOnlySpan<byte> rgb, Span<float> planar)
    {
        int pixels = _size * _size;
        if (rgb.Length < pixels * 3 || planar.Length < pixels * 3)
        {
            throw new ArgumentException($"A patch of {_size}x{_size} RGB is needed.");
        }

        for (int c = 0; c < 3; c++)
        {
            Span<float> plane = planar.Slice(c * pixels, pixels);
            int source = _sourceChannel[c];
            float scale = _scale[c], offset = _offset[c];
            for (int i = 0; i < pixels; i++)
            {
                plane[i] = rgb[i * 3 + source] * scale + offset;
            }
        }
    }
}
