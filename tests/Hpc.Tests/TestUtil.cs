using System.Numerics;
using System.Text.Json;

namespace Hpc.Tests;

/// <summary>Runs the hpc CLI in process: exit code, standard output, standard error.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Hpc.Cli.HpcCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}

/// <summary>Steady-state allocation checks.</summary>
internal static class Allocations
{
    /// <summary>Asserts that some window of <paramref name="stepsPerWindow"/> calls of <paramref name="step"/> (after
    /// one warm-up call) allocated nothing on this thread's managed heap, out of <paramref name="windows"/> windows.
    /// A step that allocates allocates in every window and fails; a one-off allocation by the runtime on this thread
    /// (seen once in a full parallel test run: 2,784 bytes inside one 10-step window of a layer whose steps allocate
    /// nothing; the cause was not found, probably the runtime's tiered compilation, whose promotions can come at any
    /// time while other tests keep compiling) does not.</summary>
    public static void SomeWindowAllocatesNothing(Action step, int windows = 3, int stepsPerWindow = 10)
    {
        step();
        var bytes = new long[windows];
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < stepsPerWindow; i++) step();
            bytes[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Xunit.Assert.True(bytes.Min() == 0,
            $"every window of {stepsPerWindow} steps allocated: {string.Join(", ", bytes)} bytes");
    }
}

/// <summary>Random HMM parameters for the tests.</summary>
internal static class HmmTestModels
{
    /// <summary>A [rows, cols] row-stochastic matrix, every entry at least 0.05 before normalising.</summary>
    public static double[] Stochastic(Random rng, int rows, int cols)
    {
        var p = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += p[r * cols + c] = 0.05 + rng.NextDouble();
            for (int c = 0; c < cols; c++) p[r * cols + c] /= sum;
        }
        return p;
    }
}

internal static class TestData
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "data", .. parts]);

    public static string Example(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "examples", .. parts]);

    public static string TempDir()
    {
        string d = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hpc-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}

internal static class Num
{
    /// <summary>Tensor relative error: max|a - b| / max|b| (max|a - b| when b is all zeros); NaN anywhere gives NaN.</summary>
    public static double MaxRel<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IFloatingPointIeee754<T>
    {
        if (a.Length != b.Length) throw new ArgumentException($"length {a.Length} vs {b.Length}");
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(double.CreateChecked(a[i]) - double.CreateChecked(b[i]));
            if (double.IsNaN(d)) return double.NaN;
            diff = Math.Max(diff, d);
            scale = Math.Max(scale, Math.Abs(double.CreateChecked(b[i])));
        }
        return scale > 0 ? diff / scale : diff;
    }

    public static double[] Random(Random rng, int n, double scale = 1.0)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (2 * rng.NextDouble() - 1) * scale;
        return v;
    }

    public static float[] ToSingle(double[] v) => Array.ConvertAll(v, x => (float)x);
    public static double[] ToDouble(float[] v) => Array.ConvertAll(v, x => (double)x);

    /// <summary>Neumaier-compensated dot product, so finite differences of the loss are not swamped by summation error.</summary>
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0, c = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double x = a[i] * b[i], t = sum + x;
            c += Math.Abs(sum) >= Math.Abs(x) ? (sum - t) + x : (x - t) + sum;
            sum = t;
        }
        return sum + c;
    }
}

/// <summary>A reference case stored as one JSON file with a "name": the file's path and root element.</summary>
internal abstract class JsonCase
{
    protected JsonCase(string path)
    {
        Path = path;
        Root = JsonDocument.Parse(File.ReadAllBytes(path)).RootElement;
    }

    protected JsonElement Root { get; }
    public string Path { get; }
    public string Name => Root.GetProperty("name").GetString()!;
}

/// <summary>A reference case in the format of ../shared/refs/rnn (arrays as {shape, data}).</summary>
internal sealed class RnnReference(string path) : JsonCase(path)
{
    public string Cell => Root.GetProperty("cell").GetString()!;
    public int Layers => Root.GetProperty("num_layers").GetInt32();
    public bool Bidirectional => Root.GetProperty("bidirectional").GetBoolean();
    public bool BatchFirst => Root.GetProperty("batch_first").GetBoolean();
    public int Batch => Root.GetProperty("batch").GetInt32();
    public int SeqLen => Root.GetProperty("seq_len").GetInt32();
    public int InputSize => Root.GetProperty("input_size").GetInt32();
    public int HiddenSize => Root.GetProperty("hidden_size").GetInt32();
    public bool HasInitialState => Root.GetProperty("has_initial_state").GetBoolean();
    public IEnumerable<string> ParamNames => Root.GetProperty("param_names").EnumerateArray().Select(e => e.GetString()!);

    public RecurrentCell CellKind => Cell switch
    {
        "RNN_TANH" => RecurrentCell.RnnTanh, "RNN_RELU" => RecurrentCell.RnnRelu, "LSTM" => RecurrentCell.Lstm,
        "LSTM_PEEPHOLE" => RecurrentCell.LstmPeephole, "GRU" => RecurrentCell.Gru,
        _ => throw new InvalidDataException($"{Path}: unknown cell {Cell}"),
    };

    public bool Has(string group, string name) => Root.GetProperty(group).TryGetProperty(name, out _);

    public double[] Array(string group, string name) =>
        Root.GetProperty(group).GetProperty(name).GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public int[] Shape(string group, string name) =>
        Root.GetProperty(group).GetProperty(name).GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
