using System.Reflection;
using DeepSlide.Orchestration;
using Microsoft.Azure.Functions.Worker;

namespace DeepSlide.Functions.Tests;

public sealed class SlideRunFunctionsTests
{
    [Fact]
    public void The_Functions_app_binds_exactly_the_orchestration_and_activities_the_local_host_registers()
    {
        IEnumerable<string> bound = typeof(SlideRunFunctions).GetMethods()
            .Select(m => m.GetCustomAttribute<FunctionAttribute>()?.Name)
            .OfType<string>();
        Assert.Equal(SlideRunTasks.Names.Order(StringComparer.Ordinal), bound.Order(StringComparer.Ordinal));

        // Every bound task is one the registry accepts by that name (a class of the same name, as AddSlideRunTasks adds).
        var registry = new Microsoft.DurableTask.DurableTaskRegistry();
        registry.AddSlideRunTasks();
        Assert.All(SlideRunTasks.Names, name => Assert.NotNull(typeof(SlideRunOrchestrator).Assembly.GetType($"DeepSlide.Orchestration.{name}")));
    }
}
