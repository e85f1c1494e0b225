using DeepSlide.Pipeline.Work;

namespace DeepSlide.Pipeline.Tests;

public class WorkerHealthTests
{
    [Fact]
    public void The_worker_is_healthy_while_it_beats_and_stuck_after_two_lock_durations_of_silence()
    {
        var clock = new ManualClock();
        var health = new WorkerHealth(TimeSpan.FromMinutes(5), clock);
        Assert.True(health.IsHealthy);

        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.True(health.IsHealthy);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.False(health.IsHealthy);

        health.Beat();
        Assert.True(health.IsHealthy);
        Assert.Equal(TimeSpan.Zero, health.SinceLastBeat);
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
