using System.CommandLine;
using Hpc.IO;

namespace Hpc.Cli;

/// <summary><c>hpc npy diff A B</c>: compares two arrays; exit 0 when max|a-b| &lt;= rtol * max|b|, else 1.</summary>
internal static class NpyCommands
{
    internal static Command Build(TextWriter stdout)
    {
        var actual = new Argument<string>("actual") { Description = ".npy file to check" };
        var expected = new Argument<string>("expected") { Description = ".npy reference file" };
        var rtol = new Option<double>("--rtol") { Description = "Tolerance relative to max|expected|", DefaultValueFactory = _ => 1e-6 };
        var diff = new Command("diff", "Compare two .npy arrays of the same shape.") { actual, expected, rtol };
        diff.SetAction(r => Diff(r.GetValue(actual)!, r.GetValue(expected)!, r.GetValue(rtol), stdout));
        var npy = new Command("npy", "NumPy .npy utilities.");
        npy.Subcommands.Add(diff);
        return npy;
    }

    internal static int Diff(string actualPath, string expectedPath, double rtol, TextWriter stdout)
    {
        var a = Npy.Read(actualPath);
        var b = Npy.Read(expectedPath);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new CliException($"{actualPath}: expected shape {HpcCli.Shape(b.Shape)} (as {expectedPath}), got {HpcCli.Shape(a.Shape)}.");
        double[] x = a.ToDoubleArray(), y = b.ToDoubleArray();
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = Math.Abs(x[i] - y[i]);
            if (!(d <= maxDiff)) maxDiff = d;  // NaN propagates
            maxRef = Math.Max(maxRef, Math.Abs(y[i]));
        }
        double rel = maxRef > 0 ? maxDiff / maxRef : maxDiff;
        bool ok = rel <= rtol;
        stdout.WriteLine($"{actualPath} vs {expectedPath}: {x.Length} elements, max |diff| {maxDiff:G3}, relative {rel:G3} (tolerance {rtol:G3}): {(ok ? "OK" : "DIFFERENT")}");
        return ok ? 0 : 1;
    }
}
