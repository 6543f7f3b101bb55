using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Hpc;
using Hpc.Training;

namespace Hpc.Benchmarks;

/// <summary>
/// BenchmarkDotNet suites for the managed path. In-process toolchain (the native library is found next to the
/// assemblies), [MemoryDiagnoser] (steady-state calls must allocate 0 B), JSON and GitHub-markdown exporters.
/// <c>dotnet run -c Release --project bench/Hpc.Benchmarks -- [--short] [BenchmarkDotNet filters]</c>; --short is the CI job.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        bool quick = args.Contains("--short");
        var job = (quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full)
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine("bench", "results", "BenchmarkDotNet"));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Where(a => a != "--short").ToArray(), config);
    }
}

/// <summary>Forward and forward+backward of an LSTM at the seed sizes and a larger one.</summary>
[MemoryDiagnoser]
public class RecurrentBenchmarks
{
    [Params(10, 50, 256)] public int Hidden;
    [Params(32)] public int Batch;
    [Params(50)] public int Steps;
    private Lstm<float> _lstm = null!;
    private float[] _x = null!, _y = null!, _dy = null!, _dx = null!;

    [GlobalSetup]
    public void Setup()
    {
        int input = Hidden == 256 ? 256 : 10;
        _lstm = new Lstm<float>(input, Hidden, seed: 1) { CheckFinite = false };
        _x = new float[Batch * Steps * input];
        _y = new float[Batch * Steps * Hidden];
        _dy = Enumerable.Repeat(0.01f, _y.Length).ToArray();
        _dx = new float[_x.Length];
        new Random(1).NextBytes(new byte[1]);
    }

    [Benchmark]
    public void Forward() => _lstm.Forward(_x, Batch, Steps, _y);

    [Benchmark]
    public void ForwardBackward()
    {
        _lstm.Forward(_x, Batch, Steps, _y, training: true);
        _lstm.Backward(_x, _dy, _dx);
    }

    [GlobalCleanup]
    public void Cleanup() => _lstm.Dispose();
}

/// <summary>One Adam step over a model's parameters, with and without clipping.</summary>
[MemoryDiagnoser]
public class OptimizerBenchmarks
{
    [Params(10_000, 1_000_000)] public int Parameters;
    private Adam<float> _adam = null!;

    [GlobalSetup]
    public void Setup()
    {
        var tensors = new[] { new ParameterTensor<float>("w", new float[Parameters], Enumerable.Repeat(0.001f, Parameters).ToArray()), new ParameterTensor<float>("b", new float[100], new float[100]) };
        _adam = new Adam<float>(new ParameterSet<float>(tensors));
    }

    [Benchmark]
    public void AdamStep() => _adam.Step();

    [Benchmark]
    public double ClipAndStep()
    {
        double n = GradientClipping.ClipGradNorm(_adam.Parameters, 1.0);
        _adam.Step();
        return n;
    }

    [GlobalCleanup]
    public void Cleanup() => _adam.Dispose();
}

/// <summary>The cost of one P/Invoke call into the native library (a call that does no work).</summary>
[MemoryDiagnoser]
public class InteropBenchmarks
{
    [Benchmark]
    public int NativeVersionCall() => HpcLibrary.NativeVersion;
}

/// <summary>
/// The finiteness check every HMM call makes of x (here the side-by-side grid's largest x: 100,000 rows of 16
/// features), against the single chain of dependent adds it replaced.
/// </summary>
[MemoryDiagnoser]
public class ValidationBenchmarks
{
    private double[] _x = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = new double[1_600_000];
        for (int i = 0; i < _x.Length; i++) _x[i] = rng.NextDouble();
    }

    [Benchmark(Baseline = true)]
    public bool OneSum()
    {
        var vs = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(_x);
        var acc = System.Numerics.Vector<double>.Zero;
        foreach (var v in vs) acc += v - v;
        return System.Numerics.Vector.EqualsAll(acc, System.Numerics.Vector<double>.Zero);
    }

    [Benchmark]
    public bool AllFinite() => Validate.AllFinite<double>(_x);
}
