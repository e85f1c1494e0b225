using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using Google.Protobuf;
using Onnx;

namespace DeepSlide.Inference.Tests;

/// <summary>A bundle with a random head over the real backbone, written once for the test class.</summary>
public sealed class RandomHeadBundle : IDisposable
{
    public RandomHeadBundle()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-bundle-").FullName;
        var random = new Random(5);
        Head = new SoftmaxModel(3, 512, Enumerable.Range(0, 3 * 512).Select(_ => (float)(random.NextDouble() - 0.5) * 0.05f).ToArray(), [0.1f, -0.2f, 0.05f]);
        Backbone = ResNetBackbone.Build();
        Manifest = new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
        };
        Bundle = ModelBundle.Save(Path.Combine(Folder, "model"), Manifest, ClassifierGraph.Build(Backbone, Head).ToByteArray());
    }

    public string Folder { get; }

    public SoftmaxModel Head { get; }

    public ModelProto Backbone { get; }

    public ModelManifest Manifest { get; }

    public ModelBundle Bundle { get; }

    /// <summary>A copy of the bundle with its manifest edited as JSON.</summary>
    public string CopyWith(string name, Action<JsonObject> edit, byte[]? onnx = null)
    {
        string folder = Path.Combine(Folder, name);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), onnx ?? File.ReadAllBytes(Bundle.OnnxPath));
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Bundle.Folder, ModelBundle.ManifestFileName)))!.AsObject();
        edit(manifest);
        File.WriteAllText(Path.Combine(folder, ModelBundle.ManifestFileName), manifest.ToJsonString());
        return folder;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class PatchClassifierTests(RandomHeadBundle fixture) : IClassFixture<RandomHeadBundle>
{
    private static readonly List<byte[]> Patches = PatchImages.Render(7, seed: 3);

    // On the CPU, ONNX Runtime's kernels give the same bits whatever the batch; on CUDA, cuDNN may pick another
    // algorithm per batch shape, so the tests that run on the default device compare within a tolerance.
    [Fact]
    public void Batched_and_unbatched_backbone_features_are_identical_on_the_CPU()
    {
        using var one = new BackboneFeaturizer(new InferenceOptions { BatchSize = 1, Device = ExecutionDevice.Cpu });
        using var five = new BackboneFeaturizer(new InferenceOptions { BatchSize = 5, Device = ExecutionDevice.Cpu });
        Assert.Equal("CPU", one.ExecutionProvider);
        float[] a = one.Extract(Patches);
        float[] b = five.Extract(Patches);
        Assert.Equal(7 * 512, a.Length);
        Assert.Equal(a, b);
        Assert.Contains(a, v => v > 0);
    }

    [Fact]
    public void The_exported_bundle_gives_the_same_probabilities_as_backbone_then_head()
    {
        using var featurizer = new BackboneFeaturizer(new InferenceOptions { BatchSize = 4 });
        float[] features = featurizer.Extract(Patches);
        using PatchClassifier classifier = PatchClassifier.Load(ModelBundle.Load(fixture.Bundle.Folder), new InferenceOptions { BatchSize = 3 });
        var probabilities = new float[Patches.Count * 3];
        var exported = new float[Patches.Count * 512];
        classifier.Classify(Patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), probabilities, exported);
        AssertClose(features, exported, 1e-4f);
        var expected = new float[3];
        for (int i = 0; i < Patches.Count; i++)
        {
            fixture.Head.Predict(features.AsSpan(i * 512, 512), expected);
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(expected[c], probabilities[i * 3 + c], 1e-5);
            }
        }
    }

    [Fact]
    public void Batch_size_does_not_change_the_results()
    {
        using PatchClassifier one = PatchClassifier.Load(fixture.Bundle, new InferenceOptions { BatchSize = 1 });
        using PatchClassifier four = PatchClassifier.Load(fixture.Bundle, new InferenceOptions { BatchSize = 4 });
        var a = new float[Patches.Count * 3];
        var b = new float[Patches.Count * 3];
        one.Classify(Patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), a);
        four.Classify(Patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), b);
        AssertClose(a, b, 1e-5f);
        Assert.Contains(a, v => v is > 0.01f and < 0.99f);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float largest = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(largest <= tolerance, $"the largest difference is {largest}, over {tolerance}");
    }

    [Fact]
    public void A_missing_manifest_field_is_named()
    {
        string folder = fixture.CopyWith("no-classes", m => m.Remove("classes"));
        var ex = Assert.Throws<DeepSlideException>(() => ModelBundle.Load(folder));
        Assert.Equal(DeepSlideErrorReason.InvalidModel, ex.Reason);
        Assert.Contains("no 'classes' field", ex.Message);
        Assert.EndsWith("manifest.json", ex.Path);
    }

    [Fact]
    public void A_class_count_that_differs_from_the_model_is_refused()
    {
        string folder = fixture.CopyWith("four-classes", m => m["classes"] = new JsonArray("a", "b", "c", "d"));
        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(ModelBundle.Load(folder)).Dispose());
        Assert.Contains("has shape [-1,3], but the manifest lists 4 classes", ex.Message);
    }

    [Fact]
    public void An_input_size_the_model_does_not_take_is_refused()
    {
        string folder = fixture.CopyWith("size-256", m =>
        {
            m["input"]!["size"] = 256;
            m["patch"]!["window"] = 256;
        });
        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(ModelBundle.Load(folder)).Dispose());
        Assert.Contains("the manifest needs [N,3,256,256]", ex.Message);
    }

    [Fact]
    public void A_changed_model_file_fails_its_checksum()
    {
        byte[] onnx = File.ReadAllBytes(fixture.Bundle.OnnxPath);
        onnx[^1] ^= 0xFF;
        string folder = fixture.CopyWith("tampered", _ => { }, onnx);
        var ex = Assert.Throws<DeepSlideException>(() => ModelBundle.Load(folder));
        Assert.Contains("SHA-256", ex.Message);
    }

    [Fact]
    public void A_manifest_without_a_checksum_loads_with_a_warning_that_gives_the_file_s_hash()
    {
        Assert.Null(fixture.Bundle.IntegrityWarning);
        string folder = fixture.CopyWith("unhashed", m => m["onnx"]!.AsObject().Remove("sha256"));
        ModelBundle bundle = ModelBundle.Load(folder);
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(bundle.OnnxPath)));
        Assert.Equal($"{Path.Combine(folder, "manifest.json")} records no onnx.sha256, so {bundle.Manifest.Onnx.File} was not checked against it; the file's SHA-256 is {hash}: add it as onnx.sha256 to have it checked.", bundle.IntegrityWarning);
    }

    [Fact]
    public void A_corrupt_onnx_file_is_an_error_not_a_crash()
    {
        string folder = fixture.CopyWith("corrupt", m => m["onnx"]!.AsObject().Remove("sha256"), "not an onnx model"u8.ToArray());
        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(ModelBundle.Load(folder)).Dispose());
        Assert.Equal(DeepSlideErrorReason.InvalidModel, ex.Reason);
        Assert.Contains("cannot load the model", ex.Message);
    }

    [Fact]
    public void A_manifest_naming_an_output_the_model_lacks_is_refused()
    {
        // The exported graph computes logits internally but does not output them.
        string folder = fixture.CopyWith("logits", m =>
        {
            m["output"]!["probabilities"] = ClassifierGraph.LogitsName;
            m["output"]!["isSoftmax"] = false;
        });
        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(ModelBundle.Load(folder)).Dispose());
        Assert.Contains("has no output 'logits'", ex.Message);
    }

    [Fact]
    public void Asking_for_cuda_without_a_gpu_says_so()
    {
        if (OnnxSessions.HasNvidiaDriver())
        {
            return; // on a GPU machine CUDA may well load
        }

        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(fixture.Bundle, new InferenceOptions { Device = ExecutionDevice.Cuda }).Dispose());
        Assert.Contains("CUDA execution provider was asked for but cannot run here", ex.Message);
    }
}

public class StainAtInferenceTests(RandomHeadBundle fixture) : IClassFixture<RandomHeadBundle>
{
    [Fact]
    public void A_bundle_with_stain_normalisation_classifies_as_if_patches_were_normalised_first()
    {
        List<byte[]> patches = PatchImages.Render(4, seed: 9);
        var normalizer = Stain.ReinhardNormalizer.Fit(patches[0]);
        string folder = fixture.CopyWith("reinhard", m => m["stain"] = new System.Text.Json.Nodes.JsonObject
        {
            ["method"] = "reinhard",
            ["target"] = new System.Text.Json.Nodes.JsonArray([.. normalizer.Target.Select(v => (System.Text.Json.Nodes.JsonNode?)v)]),
        });
        using PatchClassifier withStain = PatchClassifier.Load(ModelBundle.Load(folder));
        using PatchClassifier plain = PatchClassifier.Load(fixture.Bundle);
        var a = new float[patches.Count * 3];
        var b = new float[patches.Count * 3];
        byte[][] originals = patches.Select(p => (byte[])p.Clone()).ToArray();
        withStain.Classify(patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), a);
        Assert.Equal(originals, patches); // the caller's patches are left alone
        foreach (byte[] p in patches)
        {
            normalizer.Apply(p);
        }

        plain.Classify(patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), b);
        Assert.Equal(b, a);
        Assert.NotEqual(originals, patches);
    }
}

public class ClassActivationTests(RandomHeadBundle fixture) : IClassFixture<RandomHeadBundle>
{
    [Fact]
    public void Each_class_activation_map_averages_to_its_logit_less_the_bias()
    {
        string folder = fixture.CopyWith("with-map", m => m["output"]!["featureMap"] = ClassifierGraph.FeatureMapName);
        using PatchClassifier classifier = PatchClassifier.Load(ModelBundle.Load(folder));
        SoftmaxModel head = ClassifierGraph.ReadHead(File.ReadAllBytes(fixture.Bundle.OnnxPath));
        Assert.Equal(fixture.Head.Weights, head.Weights);
        Assert.Equal(fixture.Head.Bias, head.Bias);

        List<byte[]> patches = PatchImages.Render(2, seed: 21);
        var probabilities = new float[2 * 3];
        var maps = new float[2 * 512 * 49];
        classifier.Classify(patches.Select(p => (ReadOnlyMemory<byte>)p).ToList(), probabilities, featureMaps: maps);
        for (int i = 0; i < 2; i++)
        {
            var logits = new float[3];
            for (int c = 0; c < 3; c++)
            {
                float[] cam = ClassActivationMap.Compute(maps.AsSpan(i * 512 * 49, 512 * 49), head.Weights.AsSpan(c * 512, 512), 7, 7);
                logits[c] = cam.Average() + head.Bias[c];
            }

            SoftmaxModel.SoftmaxInPlace(logits);
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(probabilities[i * 3 + c], logits[c], 1e-4);
            }
        }
    }

    [Fact]
    public void Upsampling_keeps_the_maps_order_and_scales_it_to_unit_range()
    {
        float[] map = [0, 1, 2, 3];
        float[] up = ClassActivationMap.Upsample(map, 2, 2, 8);
        Assert.Equal(0, up[0]);
        Assert.Equal(1, up[^1]);
        Assert.True(up[7] > up[0] && up[56] > up[7]);
    }

    [Fact]
    public void A_model_without_a_feature_map_says_cam_cannot_be_drawn()
    {
        using PatchClassifier classifier = PatchClassifier.Load(fixture.Bundle);
        var ex = Assert.Throws<DeepSlideException>(() => classifier.Classify([new byte[224 * 224 * 3]], new float[3], featureMaps: new float[512 * 49]));
        Assert.Contains("exposes no feature map", ex.Message);
    }
}
