using DeepSlide.Orchestration;

namespace DeepSlide.Pipeline.Tests;

public sealed class MessageTests
{
    private static readonly SlideRunRequest Request = new("lab/" + new string('s', SlideBlobName.MaxLength - 8) + ".svs", "\"0x8DC0000000000000\"", "models/v1");

    [Fact]
    public void Messages_carry_references_only_and_stay_far_below_64_KB_even_for_the_longest_slide_name()
    {
        TileRangeMessage message = DispatchActivity.Message("run-1", Request, new WorkItem(WorkKind.Range, 499, 31_936, 64), 0, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        int bytes = System.Text.Encoding.UTF8.GetByteCount(message.ToJson());
        Assert.InRange(bytes, 1_024, 2_048);
        Assert.Equal(message, TileRangeMessage.FromJson(message.ToJson()));
        Assert.Equal(RunBlobs.Plan("run-1"), message.PlanBlob);
    }

    [Fact]
    public void A_message_over_64_KB_is_refused_before_it_is_sent()
    {
        var huge = Request with { ModelPrefix = new string('m', TileRangeMessage.MaxBytes) };
        var error = Assert.Throws<DeepSlideException>(() => DispatchActivity.Message("run-1", huge, WorkItem.Plan, 0, null));
        Assert.Contains($"at most {TileRangeMessage.MaxBytes} are allowed", error.Message);
    }

    [Fact]
    public void Message_ids_are_stable_per_piece_and_differ_per_redispatch_so_duplicate_detection_drops_only_true_repeats()
    {
        TileRangeMessage range = DispatchActivity.Message("run-1", Request, new WorkItem(WorkKind.Range, 7, 448, 64), 0, null);
        Assert.Equal("run-1:7", range.MessageId);
        Assert.Equal("run-1:7:retry2", (range with { Attempt = 2 }).MessageId);
        Assert.Equal("run-1:plan", DispatchActivity.Message("run-1", Request, WorkItem.Plan, 0, null).MessageId);
        Assert.Equal("run-1:pictures", DispatchActivity.Message("run-1", Request, WorkItem.Pictures, 0, null).MessageId);
        Assert.Equal("range:7", new RangeCompletion("run-1", 7, true, null, 64, null).Key);
        Assert.Equal(new WorkItem(WorkKind.Range, 7, 448, 64).Key, new RangeCompletion("run-1", 7, true, null, 64, null).Key);
    }

    [Fact]
    public void Ranges_cover_every_tile_once_and_grow_to_stay_within_the_range_limit()
    {
        IReadOnlyList<WorkItem> few = WorkItem.Ranges(130, 64, 500);
        Assert.Equal([(0, 64), (64, 64), (128, 2)], few.Select(r => (r.Start, r.Count)));
        IReadOnlyList<WorkItem> many = WorkItem.Ranges(100_000, 64, 500);
        Assert.Equal(500, many.Count);
        Assert.Equal(100_000, many.Sum(r => r.Count));
        Assert.True(many.Zip(many.Skip(1)).All(p => p.First.Start + p.First.Count == p.Second.Start));
        Assert.Empty(WorkItem.Ranges(0, 64, 500));
    }

    [Fact]
    public void Upload_run_ids_depend_on_the_slide_version_and_slide_ids_fit_Cosmos_DB()
    {
        Assert.Equal(PipelineNames.RunIdForUpload("a.svs", "\"1\""), PipelineNames.RunIdForUpload("a.svs", "\"1\""));
        Assert.NotEqual(PipelineNames.RunIdForUpload("a.svs", "\"1\""), PipelineNames.RunIdForUpload("a.svs", "\"2\""));
        Assert.Equal(PipelineNames.RunIdForUpload("a.svs", "\"0x8DC1\""), PipelineNames.RunIdForUpload("a.svs", "0x8DC1"));
        Assert.NotEqual(PipelineNames.RunIdForRerun("a.svs", "\"1\"", "m", "r1"), PipelineNames.RunIdForRerun("a.svs", "\"1\"", "m", "r2"));
        Assert.Equal("lab_a_b.svs", SlideRun.SlideIdOf("lab/a\\b.svs"));
        string longId = SlideRun.SlideIdOf(Request.SlideBlob);
        Assert.True(longId.Length <= 255);
        Assert.NotEqual(longId, SlideRun.SlideIdOf(Request.SlideBlob.Replace("ssss.svs", "sssx.svs", StringComparison.Ordinal)));
    }
}
