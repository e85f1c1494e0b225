using System.Text.Json.Serialization;
using DeepSlide.Slides;
using DeepSlide.Tissue;

namespace DeepSlide.Models;

/// <summary>
/// What a model bundle says about its ONNX patch classifier: classes, input preprocessing, the resolution it was
/// trained at, aggregation settings and provenance. Validated by <see cref="Validate"/>.
/// </summary>
public sealed record ModelManifest
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Class names in output index order.</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>
    /// Colours by class as [r, g, b], from the QuPath classifications of the annotations the model was trained on;
    /// every picture and GeoJSON export uses them. Classes without one take the Okabe–Ito palette's.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>>? ClassColours { get; init; }

    /// <summary>The class colours as bytes, for pictures.</summary>
    public IReadOnlyDictionary<string, (byte R, byte G, byte B)>? ColourMap() =>
        ClassColours?.Where(kv => kv.Value.Count == 3).ToDictionary(kv => kv.Key, kv => ((byte)kv.Value[0], (byte)kv.Value[1], (byte)kv.Value[2]));

    public ModelInput Input { get; init; } = new();

    public ModelOutput Output { get; init; } = new();

    /// <summary>The patch size and working resolution the model was trained at.</summary>
    public PatchSpec Patch { get; init; } = new();

    public StainSpec Stain { get; init; } = new();

    public AggregationSpec Aggregation { get; init; } = new();

    public TrainingProvenance? Training { get; init; }

    public OnnxFile Onnx { get; init; } = new();

    /// <summary>Checks every field; <paramref name="path"/> names the manifest in errors.</summary>
    public void Validate(string path)
    {
        void Fail(string problem) => throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, problem);
        if (FormatVersion != CurrentFormatVersion)
        {
            Fail($"formatVersion {FormatVersion} is not supported; this program reads version {CurrentFormatVersion}.");
        }

        if (Classes.Count < 2)
        {
            Fail($"'classes' lists {Classes.Count} class(es); at least two are needed.");
        }

        if (Classes.Any(string.IsNullOrWhiteSpace) || Classes.Distinct(StringComparer.Ordinal).Count() != Classes.Count)
        {
            Fail("'classes' has an empty or repeated name.");
        }

        if (Input is null || string.IsNullOrWhiteSpace(Input.Name))
        {
            Fail("'input.name' is missing.");
        }

        if (Input!.Size < 16)
        {
            Fail($"'input.size' is {Input.Size}; give the model's input side in pixels (224 for ResNet).");
        }

        if (Input.ChannelOrder is not ("RGB" or "BGR"))
        {
            Fail($"'input.channelOrder' is '{Input.ChannelOrder}'; use RGB or BGR.");
        }

        if (Input.Mean.Count != 3 || Input.Std.Count != 3 || Input.Std.Any(s => !(s > 0)))
        {
            Fail("'input.mean' and 'input.std' need three values each, and every std must be positive.");
        }

        if (!(Input.PixelScale > 0))
        {
            Fail("'input.pixelScale' must be positive (1 for 0..255 input, 1/255 for 0..1).");
        }

        if (Output is null || string.IsNullOrWhiteSpace(Output.Probabilities))
        {
            Fail("'output.probabilities' is missing: name the output that holds class scores.");
        }

        if (Patch is null || Patch.Window != Input.Size)
        {
            Fail($"'patch.window' ({Patch?.Window}) must equal 'input.size' ({Input.Size}).");
        }

        if (Patch!.Stride is int stride && (stride <= 0 || stride > Patch.Window))
        {
            Fail($"'patch.stride' ({stride}) must be between 1 and the window ({Patch.Window}).");
        }

        if (Onnx is null || string.IsNullOrWhiteSpace(Onnx.File))
        {
            Fail("'onnx.file' is missing.");
        }

        if (Onnx!.Sha256 is { } sha && (sha.Length != 64 || !sha.All(Uri.IsHexDigit)))
        {
            Fail("'onnx.sha256' is not a 64-digit hex SHA-256.");
        }

        if (!ModelPrecision.IsKnown(Onnx.Precision))
        {
            Fail($"'onnx.precision' is '{Onnx.Precision}'; it must be {ModelPrecision.Fp32}, {ModelPrecision.Int8} or {ModelPrecision.Fp16}.");
        }

        if ((Onnx.Calibration is null) != (Onnx.Precision != ModelPrecision.Int8))
        {
            Fail(Onnx.Precision == ModelPrecision.Int8 ? "an int8 model must record its 'onnx.calibration'." : "only an int8 model records 'onnx.calibration'.");
        }

        if (Onnx.Confirm is { } confirm)
        {
            if (Onnx.Precision != ModelPrecision.Int8)
            {
                Fail("only an int8 model carries 'onnx.confirm'.");
            }

            if (string.IsNullOrWhiteSpace(confirm.File) || confirm.File == Onnx.File || confirm.Sha256 is not { Length: 64 } confirmSha || !confirmSha.All(Uri.IsHexDigit))
            {
                Fail("'onnx.confirm' must name its own model file and record its 64-digit hex SHA-256.");
            }

            if (confirm.Margin is not (> 0 and <= 0.5))
            {
                Fail($"'onnx.confirm.margin' is {confirm.Margin.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be above 0 and at most 0.5.");
            }

            if (confirm.PatchMargin is not (>= 0 and <= 1))
            {
                Fail($"'onnx.confirm.patchMargin' is {confirm.PatchMargin.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be between 0 and 1.");
            }
        }

        foreach ((string name, double t) in Aggregation.Thresholds)
        {
            if (!Classes.Contains(name) || t is < 0 or > 1)
            {
                Fail($"'aggregation.thresholds' has '{name}': {t}; thresholds are per known class, in [0, 1].");
            }
        }

        if (Aggregation.NormalClass is { } normal && !Classes.Contains(normal))
        {
            Fail($"'aggregation.normalClass' '{normal}' is not one of the classes.");
        }

        if (Aggregation.Mil is { } mil && mil.Parameters.Count != Learning.AttentionMil.ParameterCount(mil.Features, mil.Embedding, mil.Attention, Classes.Count))
        {
            Fail($"'aggregation.mil' has {mil.Parameters.Count} parameters; its sizes call for {Learning.AttentionMil.ParameterCount(mil.Features, mil.Embedding, mil.Attention, Classes.Count)}.");
        }

        if (Aggregation.Learned is { } learned && (learned.Bias.Count != Classes.Count || learned.Weights.Count != learned.Features * Classes.Count))
        {
            Fail($"'aggregation.learned' has {learned.Bias.Count} classes and {learned.Weights.Count} weights; {Classes.Count} classes of {learned.Features} features are needed.");
        }
    }
}

public sealed record ModelInput
{
    public string Name { get; init; } = "image";

    public int Size { get; init; } = 224;

    /// <summary>RGB or BGR: the order of the planes the model expects.</summary>
    public string ChannelOrder { get; init; } = "RGB";

    /// <summary>Each 0..255 value is multiplied by this before the mean is subtracted.</summary>
    public double PixelScale { get; init; } = 1;

    /// <summary>Per channel, in <see cref="ChannelOrder"/>.</summary>
    public IReadOnlyList<double> Mean { get; init; } = [0, 0, 0];

    public IReadOnlyList<double> Std { get; init; } = [1, 1, 1];
}

public sealed record ModelOutput
{
    public string Probabilities { get; init; } = "probabilities";

    /// <summary>True when the output is already softmax probabilities; false for logits.</summary>
    public bool IsSoftmax { get; init; } = true;

    /// <summary>The backbone feature output, when the model exposes one (used by attention MIL).</summary>
    public string? Features { get; init; }

    /// <summary>The last convolutional feature map [N,K,h,w], when the model exposes one (used by CAM).</summary>
    public string? FeatureMap { get; init; }
}

public sealed record PatchSpec
{
    public int Window { get; init; } = 224;

    /// <summary>The working resolution; null means level 0.</summary>
    public double? Mpp { get; init; }

    public double? Magnification { get; init; }

    public int? Level { get; init; }

    [JsonConverter(typeof(JsonStringEnumConverter))]
    public TissueMethod Tissue { get; init; } = TissueMethod.Otsu;

    /// <summary>
    /// The step between patches when classifying, in working pixels; null steps by the window. A smaller step (half
    /// the window) puts more patches over a small focus, at four times the patches.
    /// </summary>
    public int? Stride { get; init; }

    public Resolution Resolution =>
        Mpp is double mpp ? Resolution.AtMpp(mpp)
        : Magnification is double power ? Resolution.AtMagnification(power)
        : Resolution.AtLevel(Level ?? 0);
}

public sealed record StainSpec
{
    /// <summary>none, reinhard or macenko.</summary>
    public string Method { get; init; } = "none";

    /// <summary>The target statistics the normaliser maps every patch onto.</summary>
    public IReadOnlyList<double>? Target { get; init; }
}

public sealed record AggregationSpec
{
    /// <summary>DeepSlide thresholding: a patch counts for class c when its confidence is strictly above t_c.</summary>
    public IReadOnlyDictionary<string, double> Thresholds { get; init; } = new Dictionary<string, double>();

    /// <summary>The class called when too few patches count ("otherwise predict normal").</summary>
    public string? NormalClass { get; init; }

    /// <summary>The least share of counted patches for a non-normal call.</summary>
    public double MinShare { get; init; }

    /// <summary>
    /// When above 0, thresholding calls by focus instead of share: the non-normal class whose counted patches form
    /// the largest connected cluster, once that cluster holds at least this many patches; normal otherwise.
    /// </summary>
    public int MinFocus { get; init; }

    /// <summary>The same for <c>majority</c> (share of patches) and <c>mean</c> (mean probability), by method, once tuned.</summary>
    public IReadOnlyDictionary<string, double>? MinShares { get; init; }

    /// <summary>Why <c>tune</c> trained no learned slide classifier, so <c>classify</c> can say so.</summary>
    public string? LearnedNotTrained { get; init; }

    /// <summary>The slide classifier trained by <c>deepslide tune</c>, when there were enough validation slides.</summary>
    public LearnedAggregatorSpec? Learned { get; init; }

    /// <summary>The attention-MIL slide classifier trained by <c>deepslide train-mil</c>.</summary>
    public MilSpec? Mil { get; init; }

    /// <summary>How tuning went: validation slides and balanced accuracy per method.</summary>
    public IReadOnlyDictionary<string, double>? TunedBalancedAccuracy { get; init; }
}

public sealed record MilSpec
{
    /// <summary>The backbone whose features the bags hold; bags of another backbone are refused.</summary>
    public string Backbone { get; init; } = string.Empty;

    public int Features { get; init; }

    public int Embedding { get; init; }

    public int Attention { get; init; }

    public IReadOnlyList<double> Parameters { get; init; } = [];
}

public sealed record LearnedAggregatorSpec
{
    public int Features { get; init; }

    public IReadOnlyList<float> Weights { get; init; } = [];

    public IReadOnlyList<float> Bias { get; init; } = [];
}

public sealed record TrainingProvenance
{
    public string? Backbone { get; init; }

    public DateTimeOffset CreatedUtc { get; init; }

    public string? Data { get; init; }

    public int TrainPatches { get; init; }

    public int ValPatches { get; init; }

    public int Epochs { get; init; }

    public int Seed { get; init; }

    public double? ValAccuracy { get; init; }

    /// <summary>How the training patches were labelled: "slide" (DeepSlide's rule), "annotations", or "refined".</summary>
    public string? Labels { get; init; }

    /// <summary>How many rounds of weak-label refinement ('deepslide refine') the head has had; 0 for none.</summary>
    public int RefinementRound { get; init; }
}

public sealed record OnnxFile
{
    public string File { get; init; } = "model.onnx";

    public string? Sha256 { get; init; }

    /// <summary>
    /// The graph's arithmetic: <see cref="ModelPrecision.Fp32"/>, <see cref="ModelPrecision.Int8"/> (QDQ) or
    /// <see cref="ModelPrecision.Fp16"/>. Loading refuses a graph that is not what this says.
    /// </summary>
    public string Precision { get; init; } = ModelPrecision.Fp32;

    /// <summary>How an int8 graph's activation ranges were calibrated; null for the others.</summary>
    public CalibrationSpec? Calibration { get; init; }

    /// <summary>What quantizing changed, measured by <c>quantize</c> on labelled patches against the model it came from.</summary>
    public QuantizationCost? Cost { get; init; }

    /// <summary>An int8 bundle's FP32 graph, which re-classifies a slide whose calls the int8 graph could have moved.</summary>
    public ConfirmationSpec? Confirm { get; init; }
}

/// <summary>
/// The FP32 graph an int8 bundle carries beside its own, and the margins its int8 outputs must clear to stand without
/// it: a patch's top two probabilities at least <see cref="PatchMargin"/> apart, and a slide's calls unmoved when
/// every patch's probability of any one class moves by <see cref="Margin"/>, up or down.
/// </summary>
public sealed record ConfirmationSpec
{
    public const double DefaultMargin = 0.1;

    public const double DefaultPatchMargin = 0.3;

    public double PatchMargin { get; init; } = DefaultPatchMargin;

    public string File { get; init; } = "confirm.onnx";

    public string? Sha256 { get; init; }

    public double Margin { get; init; } = DefaultMargin;
}

/// <summary>
/// A quantized model against its source on labelled check patches the calibration did not use: how often they agree,
/// how far the probabilities moved, and each one's patch accuracy.
/// </summary>
public sealed record QuantizationCost
{
    public int Patches { get; init; }

    public string? Source { get; init; }

    /// <summary>The share of patches given the same class as the source model.</summary>
    public double Agreement { get; init; }

    public double MaxProbabilityChange { get; init; }

    public double MedianProbabilityChange { get; init; }

    public double SourceAccuracy { get; init; }

    public double Accuracy { get; init; }

    /// <summary>Validation slides both models called, when slides were given; 0 otherwise.</summary>
    public int Slides { get; init; }

    /// <summary>The slide calls that differ, as "slide method: source label, quantized label".</summary>
    public IReadOnlyList<string> ChangedCalls { get; init; } = [];

    /// <summary>Percentage points of patch accuracy lost (negative when gained).</summary>
    public double AccuracyLoss => (SourceAccuracy - Accuracy) * 100;

    public string Describe() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"on {Patches} check patches it gives the source model's class to {Agreement:P1}, moves probabilities by {MedianProbabilityChange:0.0000} (median) to {MaxProbabilityChange:0.0000} (largest), and its patch accuracy is {Accuracy:0.000} against the source's {SourceAccuracy:0.000} ({(AccuracyLoss >= 0 ? $"{AccuracyLoss:0.0} points lost" : $"{-AccuracyLoss:0.0} points gained")}){(Slides > 0 ? $"; on {Slides} validation slides it changes {ChangedCalls.Count} slide call(s){(ChangedCalls.Count > 0 ? $": {string.Join("; ", ChangedCalls)}" : string.Empty)}" : string.Empty)}");
}

public static class ModelPrecision
{
    public const string Fp32 = "fp32";
    public const string Int8 = "int8";
    public const string Fp16 = "fp16";

    public static bool IsKnown(string? precision) => precision is Fp32 or Int8 or Fp16;
}

/// <summary>
/// An int8 graph's calibration: the method (percentile of each activation's histogram), the percentile kept on each
/// side, how many patches it saw and where they came from.
/// </summary>
public sealed record CalibrationSpec
{
    public string Method { get; init; } = "percentile";

    public double Percentile { get; init; } = 99.999;

    public int Samples { get; init; }

    public string? Source { get; init; }

    /// <summary>The FP32 bundle's model file this one was made from, by SHA-256.</summary>
    public string? FromSha256 { get; init; }

    /// <summary>How many patches the float head was re-fitted on, to the int8 backbone's features (0: the FP32 head kept).</summary>
    public int HeadRefitSamples { get; init; }

    /// <summary>Convolutions, by output tensor, left in float.</summary>
    public IReadOnlyList<string> FloatConvolutions { get; init; } = [];
}
