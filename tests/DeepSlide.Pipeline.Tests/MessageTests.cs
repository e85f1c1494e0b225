using DeepSlide.Orchestration;
using DeepSlide.Tiling;

namespace DeepSlide.Pipeline.Tests;

public sealed class MessageTests
{
    private static readonly SlideRunRequest Request = new("lab/" + new string('s', SlideBlobName.MaxLength - 8) + ".svs", "\"0x8DC0000000000000\"", "models/v1");

    [Fact]
    public void Messages_carry_references_only_and_stay_far_below_64_KB_even_for_the_longest_slide_name()
    {
        WorkMessage message = DispatchActivity.Message("run-1", Request, WorkItem.ForRange(new TileRange(499, 31_936, 64)), 0, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        int bytes = System.Text.Encoding.UTF8.GetByteCount(message.ToJson());
        Assert.InRange(bytes, 1_024, 2_048);
        Assert.Equal(message, WorkMessage.FromJson(message.ToJson()));
        Assert.Equal(RunBlobs.Plan("run-1"), message.PlanBlob);
    }

    [Fact]
    public void A_message_over_64_KB_is_refused_before_it_is_sent()
    {
        var huge = Request with { ModelPrefix = new string('m', WorkMessage.MaxBytes) };
        var error = Assert.Throws<DeepSlideException>(() => DispatchActivity.Message("run-1", huge, WorkItem.Plan, 0, null));
        Assert.Contains($"at most {WorkMessage.MaxBytes} are allowed", error.Message);
    }

    [Fact]
    public void Message_ids_are_stable_per_piece_and_differ_per_redispatch_so_duplicate_detection_drops_only_true_repeats()
    {
        WorkItem seventh = WorkItem.ForRange(new TileRange(7, 448, 64));
        WorkMessage range = DispatchActivity.Message("run-1", Request, seventh, 0, null);
        Assert.Equal("run-1:range:7", range.MessageId);
        Assert.Equal("run-1:range:7:retry2", (range with { Attempt = 2 }).MessageId);
        Assert.Equal("run-1:plan", DispatchActivity.Message("run-1", Request, WorkItem.Plan, 0, null).MessageId);
        Assert.Equal("run-1:aggregate", DispatchActivity.Message("run-1", Request, WorkItem.Aggregate, 0, null, rangeSize: 64).MessageId);
        WorkCompletion notice = WorkCompletion.FromJson(new WorkCompletion("run-1", seventh, true, "out", null) { Patches = 64 }.ToJson());
        Assert.Equal("range:7", notice.Work.Key);
        Assert.Equal(seventh, notice.Work);
        Assert.Equal(64, notice.Patches);
    }

    [Theory]
    [InlineData("""{"kind":"Range"}""", "a range names no tiles.")]
    [InlineData("""{"kind":"Range","tiles":{"index":1,"start":-64,"count":64}}""", "the tile range is negative.")]
    [InlineData("""{"kind":"Plan","tiles":{"index":1,"start":0,"count":64}}""", "the plan step names tiles, which only a range has.")]
    [InlineData("""{"kind":"Aggregate"}""", "the aggregate step names no range size.")]
    [InlineData("""{"kind":"Classify"}""", "not a piece of work")]
    public void A_message_whose_work_is_malformed_is_refused_with_the_reason(string work, string reason)
    {
        string json = $$"""{"runId":"run-1","slideBlob":"a.svs","slideETag":"1","planBlob":"p","modelPrefix":"m","work":{{work}}}""";
        var error = Assert.Throws<DeepSlideException>(() => WorkMessage.FromJson(json));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Ranges_cover_every_tile_once_and_grow_to_stay_within_the_range_limit()
    {
        IReadOnlyList<TileRange> few = Request.RangesOf(130);
        Assert.Equal([(0, 0, 64), (1, 64, 64), (2, 128, 2)], few.Select(r => (r.Index, r.Start, r.Count)));
        IReadOnlyList<TileRange> many = Request.RangesOf(100_000);
        Assert.Equal(500, many.Count);
        Assert.Equal(100_000, many.Sum(r => r.Count));
        Assert.True(many.Zip(many.Skip(1)).All(p => p.First.End == p.Second.Start));
        Assert.Equal(many, TileRange.Split(100_000, Request.RangeSizeOf(100_000)));
        Assert.Empty(Request.RangesOf(0));
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
