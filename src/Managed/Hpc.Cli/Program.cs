namespace Hpc.Cli;

internal static class Program
{
    private static int Main(string[] args) => HpcCli.Run(args, Console.Out, Console.Error);
}
