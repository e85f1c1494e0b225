using System.Net;
using DeepSlide.Pipeline.Work;
using DeepSlide.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task The_health_endpoint_answers_503_with_the_reason_once_the_work_loop_is_stuck()
    {
        var clock = new ManualClock();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(new WorkerHealth(TimeSpan.FromMinutes(5), clock));
        builder.Services.AddHealthChecks().AddCheck<WorkLoopHealthCheck>("work-loop");
        await using WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        HttpResponseMessage alive = await http.GetAsync(ServiceDefaultsExtensions.HealthPath);
        Assert.Equal((HttpStatusCode.OK, "ok"), (alive.StatusCode, await alive.Content.ReadAsStringAsync()));

        clock.Advance(TimeSpan.FromMinutes(11));
        HttpResponseMessage stuck = await http.GetAsync(ServiceDefaultsExtensions.HealthPath);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "work-loop: the work loop has been silent for 660 s"), (stuck.StatusCode, await stuck.Content.ReadAsStringAsync()));
        await app.StopAsync();
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
