using DeepSlide.Cli;

return await DeepSlideCli.RunAsync(args);
