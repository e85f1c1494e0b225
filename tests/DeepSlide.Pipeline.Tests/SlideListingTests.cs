using Azure.Storage.Blobs;
using DeepSlide.Pipeline.Local;

namespace DeepSlide.Pipeline.Tests;

public sealed class SlideListingTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Azurite_cannot_list_a_container_holding_a_control_character_name()
    {
        BlobContainerClient container = await ContainerAsync(["ok.svs", "raw/ctl\u0001.tif"]);

        // The defect the listing works around: one such name fails every listing of the container.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in container.GetBlobsAsync())
            {
            }
        });
    }

    [Fact]
    public async Task Every_name_is_listed_and_the_ones_Azurite_cannot_list_are_read_out_exactly()
    {
        string[] names =
        [
            "a.svs",
            "raw/ctl\u0001.tif",
            "raw/m.svs",
            "raw/x\u001f\u0007y.svs",
            "raw/xz.svs",
            "\u0002first.svs",
            "z/z.svs",
        ];
        BlobContainerClient container = await ContainerAsync(names);
        var listing = new SlideListing(container);

        for (int pass = 0; pass < 2; pass++)
        {
            var listed = new List<ListedSlide>();
            await foreach (ListedSlide slide in listing.ListAsync())
            {
                listed.Add(slide);
            }

            // Each name Azurite cannot list comes as its readable start, in order, and every other name as it is.
            Assert.Equal(["", "a.svs", "raw/ctl", "raw/m.svs", "raw/x", "raw/xz.svs", "z/z.svs"], listed.Select(l => l.Name));
            Assert.Equal(["", "raw/ctl", "raw/x"], listed.Where(l => l.ETag is null).Select(l => l.Name));
            Assert.All(listed.Where(l => l.ETag is not null), l => Assert.NotEmpty(l.ETag!));
        }
    }

    [Theory]
    [InlineData("raw/ctl\u0001.tif", "raw/ctl")]
    [InlineData("a\u000bb", "a")]
    [InlineData("tab\tok\u001f", "tab\tok")]
    [InlineData("plain.svs", "plain.svs")]
    public void The_readable_start_ends_at_the_first_character_XML_cannot_carry(string name, string readable) =>
        Assert.Equal(readable, SlideListing.Readable(name));

    [Fact]
    public async Task A_name_equal_to_the_marker_past_an_unlistable_one_is_still_listed()
    {
        // "raw/a" + U+0001 is skipped with the marker "raw/a" + tab, which a listing does not return itself.
        string[] names = ["raw/a\u0001.svs", "raw/a\t", "raw/a\tb.svs"];
        BlobContainerClient container = await ContainerAsync(names);
        var listed = new List<ListedSlide>();
        await foreach (ListedSlide slide in new SlideListing(container).ListAsync())
        {
            listed.Add(slide);
        }

        Assert.Equal(["raw/a", "raw/a\t", "raw/a\tb.svs"], listed.Select(l => l.Name));
    }

    [Fact]
    public async Task A_listing_that_fails_once_is_not_taken_for_an_unlistable_name()
    {
        BlobContainerClient plain = await ContainerAsync(["a.svs"]);
        var options = new BlobClientOptions { Retry = { MaxRetries = 0 } };
        options.AddPolicy(new FirstListFails(), Azure.Core.HttpPipelinePosition.PerCall);
        var listing = new SlideListing(new BlobContainerClient(azurite.ConnectionString, plain.Name, options));

        // The first pass fails as a busy emulator would; it refuses nothing, and the next pass lists the blob.
        var first = new List<ListedSlide>();
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (ListedSlide slide in listing.ListAsync())
            {
                first.Add(slide);
            }
        });
        Assert.DoesNotContain(first, l => l.ETag is null);
        var second = new List<ListedSlide>();
        await foreach (ListedSlide slide in listing.ListAsync())
        {
            second.Add(slide);
        }

        Assert.Equal(["a.svs"], second.Select(l => l.Name));
    }

    // Answers the first container listing with a 500, as Azurite does for an unlistable name or when it is busy.
    private sealed class FirstListFails : Azure.Core.Pipeline.HttpPipelinePolicy
    {
        private int _lists;

        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline) => throw new NotSupportedException();

        public override ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline) =>
            message.Request.Uri.Query.Contains("comp=list", StringComparison.Ordinal) && Interlocked.Increment(ref _lists) == 1
                ? throw new Azure.RequestFailedException(500, "busy")
                : ProcessNextAsync(message, pipeline);
    }

    private async Task<BlobContainerClient> ContainerAsync(string[] names)
    {
        BlobContainerClient container = SlideListing.Probing(azurite.ConnectionString, $"slides{Guid.NewGuid():N}"[..20]);
        await container.CreateAsync();
        foreach (string name in names)
        {
            await container.GetBlobClient(name).UploadAsync(new BinaryData("not a slide"u8.ToArray()));
        }

        return container;
    }
}
