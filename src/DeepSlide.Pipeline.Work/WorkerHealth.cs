namespace DeepSlide.Pipeline.Work;

/// <summary>
/// Whether the work loop is alive: it beats at every turn and at every lock renewal of a piece in hand, so a healthy
/// worker beats at least every half lock duration. Silence for two lock durations means it is stuck.
/// </summary>
public sealed class WorkerHealth(TimeSpan lockDuration, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private long _lastBeat = (clock ?? TimeProvider.System).GetTimestamp();

    public TimeSpan StaleAfter { get; } = 2 * lockDuration;

    public void Beat() => Interlocked.Exchange(ref _lastBeat, _clock.GetTimestamp());

    public TimeSpan SinceLastBeat => _clock.GetElapsedTime(Interlocked.Read(ref _lastBeat));

    public bool IsHealthy => SinceLastBeat <= StaleAfter;
}
