namespace DeepSlide.Pipeline.Work;

/// <summary>
/// Whether the work loop is alive: it beats at every turn of the loop and as a piece in hand makes headway (each batch
/// of patches, each range read, each picture), never from lock renewals, which go on while a handler hangs. Silence for
/// two lock durations means it is stuck.
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
