using System.CommandLine;
using Spectre.Console;

namespace Hpc.Cli.Demo;

/// <summary><c>hpc demo [part] [--quick] [--report PATH] [--quiet] [--seed S]</c>.</summary>
internal static class DemoCommand
{
    internal static Command Build(TextWriter stdout)
    {
        var part = new Argument<string>("part") { Description = "all, or one of: " + string.Join(", ", DemoRunner.Parts), DefaultValueFactory = _ => "all" };
        part.AcceptOnlyFromAmong(["all", .. DemoRunner.Parts]);
        var quick = new Option<bool>("--quick") { Description = "Smaller data and fewer epochs (for CI)" };
        var report = new Option<string?>("--report") { Description = "Write a self-contained HTML report with SVG charts here" };
        var quiet = new Option<bool>("--quiet") { Description = "No progress output: results only" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of data, weights and shuffling", DefaultValueFactory = _ => 1 };
        var cmd = new Command("demo", "Run the lessons: vanishing and exploding gradients, LSTM regression, optimizers, HMMs, a character-level LSTM.")
        {
            part, quick, report, quiet, seed,
        };
        cmd.SetAction(r =>
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(stdout),
                Ansi = stdout == Console.Out && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
                Interactive = stdout == Console.Out && !Console.IsOutputRedirected ? InteractionSupport.Detect : InteractionSupport.No,
            });
            if (stdout != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 140;  // logs and files: no wrapping at 80
            var rep = new Report();
            var runner = new DemoRunner(console, r.GetValue(quick), r.GetValue(quiet), r.GetValue(seed), rep);
            string which = r.GetValue(part)!;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var p in which == "all" ? DemoRunner.Parts : [which]) runner.Run(p);
            if (r.GetValue(report) is string path)
            {
                rep.Write(path);
                console.MarkupLine($"report written to [bold]{Markup.Escape(path)}[/]");
            }
            console.MarkupLine($"demo finished in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
