using System.CommandLine;
using Hpc.IO;

namespace Hpc.Cli;

/// <summary>A user error the CLI reports as one line on stderr with exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);

/// <summary>The <c>hpc</c> command line. Exit codes: 0 success, 1 a comparison failed, 2 bad usage or bad input.</summary>
public static class HpcCli
{
    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("HPC: fused recurrent cells and HMM kernels with a native core.");
        root.Subcommands.Add(RnnCommands.Build(stdout));
        root.Subcommands.Add(Demo.DemoCommand.Build(stdout));
        root.Subcommands.Add(Bench.BenchCommands.Build(stdout));
        root.Subcommands.Add(HmmCommands.Build(stdout));
        root.Subcommands.Add(NpyCommands.Build(stdout));
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"hpc: error: {e.Message}");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        // IOException covers files not found and a file where a folder is wanted; UnauthorizedAccessException an output
        // path that is a folder or lacks permission (both had ended the process with an unhandled exception).
        catch (Exception e) when (e is CliException or InvalidDataException or ArgumentException or IOException
                                       or UnauthorizedAccessException or KeyNotFoundException or NotSupportedException
                                       or InvalidOperationException)
        {
            stderr.WriteLine($"hpc: error: {e.Message}");
            return 2;
        }
    }

    internal static string Shape(IEnumerable<long> dims) => "[" + string.Join(", ", dims) + "]";
}
