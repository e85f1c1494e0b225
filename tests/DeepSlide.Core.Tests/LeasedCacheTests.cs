using DeepSlide.Caching;

namespace DeepSlide.Core.Tests;

public class LeasedCacheTests
{
    [Fact]
    public async Task Callers_at_the_same_time_share_one_make_and_one_value()
    {
        using var cache = new LeasedCache<Value>();
        var gate = new TaskCompletionSource();
        int makes = 0;
        async Task<Value> Make()
        {
            Interlocked.Increment(ref makes);
            await gate.Task;
            return new Value("a");
        }

        Task<LeasedCache<Value>.Lease> first = cache.GetAsync("a", Make);
        Task<LeasedCache<Value>.Lease> second = cache.GetAsync("a", Make);
        gate.SetResult();
        using LeasedCache<Value>.Lease one = await first;
        using LeasedCache<Value>.Lease two = await second;
        Assert.Same(one.Value, two.Value);
        Assert.Equal(1, makes);
    }

    [Fact]
    public void A_value_evicted_past_the_capacity_is_disposed_when_its_last_lease_goes_not_before()
    {
        using var cache = new LeasedCache<Value>(capacity: 1);
        LeasedCache<Value>.Lease a = cache.Get("a", () => new Value("a"));
        using (LeasedCache<Value>.Lease b = cache.Get("b", () => new Value("b")))
        {
            Assert.False(a.Value.Disposed, "evicted while a range still reads it");
            Assert.Null(cache.Peek("a"));
            Assert.Same(b.Value, cache.Peek("b"));
        }

        a.Dispose();
        Assert.True(a.Value.Disposed);
        a.Dispose();
        Assert.Equal(1, a.Value.Disposals);
        Assert.False(cache.Peek("b")!.Disposed, "the one in the cache stays open with no lease");
    }

    [Fact]
    public async Task A_make_that_fails_leaves_the_cache_and_the_next_caller_makes_it_again()
    {
        using var cache = new LeasedCache<Value>();
        int makes = 0;
        Task<Value> Make() => ++makes == 1 ? throw new IOException("the network dropped") : Task.FromResult(new Value("a"));

        await Assert.ThrowsAsync<IOException>(() => cache.GetAsync("a", Make));
        using LeasedCache<Value>.Lease lease = await cache.GetAsync("a", Make);
        Assert.Equal(2, makes);
        Assert.False(lease.Value.Disposed);

        Assert.Throws<IOException>(() => cache.Get("b", () => throw new IOException("no such slide")));
        Assert.Null(cache.Peek("b"));
    }

    [Fact]
    public async Task A_caller_s_cancellation_does_not_end_the_shared_make_and_a_value_retired_while_made_is_disposed_once_made()
    {
        using var cache = new LeasedCache<Value>();
        var gate = new TaskCompletionSource<Value>();
        using var cancel = new CancellationTokenSource();
        Task<LeasedCache<Value>.Lease> waiting = cache.GetAsync("a", () => gate.Task, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        Task<LeasedCache<Value>.Lease> later = cache.GetAsync("a", () => throw new InvalidOperationException("made twice"));
        var made = new Value("a");
        gate.SetResult(made);
        using (LeasedCache<Value>.Lease lease = await later)
        {
            Assert.Same(made, lease.Value);
        }

        var slow = new TaskCompletionSource<Value>();
        using var stop = new CancellationTokenSource();
        Task<LeasedCache<Value>.Lease> retiring = cache.GetAsync("b", () => slow.Task, stop.Token);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retiring);
        cache.Retire(key => key == "b");
        var late = new Value("b");
        slow.SetResult(late);
        await WhenDisposed(late);
        Assert.False(made.Disposed);
    }

    [Fact]
    public void A_discarded_value_is_never_handed_out_again_and_is_disposed_when_its_holder_lets_go()
    {
        using var cache = new LeasedCache<Value>();
        LeasedCache<Value>.Lease failed = cache.Get("a", () => new Value("a"));
        failed.Discard();
        using LeasedCache<Value>.Lease fresh = cache.Get("a", () => new Value("a again"));
        Assert.NotSame(failed.Value, fresh.Value);
        Assert.False(failed.Value.Disposed);
        failed.Dispose();
        Assert.True(failed.Value.Disposed);
    }

    [Fact]
    public void Disposing_the_cache_disposes_what_no_lease_holds_and_the_rest_as_their_leases_go()
    {
        var cache = new LeasedCache<Value>();
        LeasedCache<Value>.Lease held = cache.Get("a", () => new Value("a"));
        cache.Get("b", () => new Value("b")).Dispose();
        Value idle = cache.Peek("b")!;
        cache.Dispose();
        Assert.True(idle.Disposed);
        Assert.False(held.Value.Disposed);
        held.Dispose();
        Assert.True(held.Value.Disposed);
    }

    // The disposal of a value made after it was retired runs on the make's continuation.
    private static Task WhenDisposed(Value value) => value.DisposedTask.WaitAsync(TimeSpan.FromSeconds(10));

    private sealed class Value(string name) : IDisposable
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name { get; } = name;

        public int Disposals { get; private set; }

        public bool Disposed => Disposals > 0;

        public Task DisposedTask => _disposed.Task;

        public void Dispose()
        {
            Disposals++;
            _disposed.TrySetResult();
        }
    }
}
