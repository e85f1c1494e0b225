namespace DeepSlide.Slides;

/// <summary>One level of a slide pyramid. <see cref="Downsample"/> is relative to level 0.</summary>
public sealed record SlideLevel(int Index, long Width, long Height, double Downsample);
