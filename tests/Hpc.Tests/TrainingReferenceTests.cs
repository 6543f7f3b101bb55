using System.Text.Json;
using Hpc.Training;
using Xunit;

namespace Hpc.Tests;

/// <summary>Optimizer steps, clipping and schedules equal PyTorch 1.13's for the same gradients
/// (tests/reference/generate_training_references.py).</summary>
public class TrainingReferenceTests
{
    private static JsonElement Load(string name) => JsonDocument.Parse(File.ReadAllBytes(TestData.Path("train", name + ".json"))).RootElement.GetProperty("cases");
    private static double[] D(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static double H(JsonElement h, string name, double fallback) => h.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;

    public static TheoryData<string> OptimizerCases()
    {
        var d = new TheoryData<string>();
        foreach (var c in Load("optimizers").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    private static Optimizer<T> Create<T>(JsonElement c, ParameterSet<T> set) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var h = c.GetProperty("hparams");
        double[] betas = h.TryGetProperty("betas", out var b) ? D(b) : [0.9, 0.999];
        return c.GetProperty("optimizer").GetString() switch
        {
            "SGD" => new Sgd<T>(set, H(h, "lr", 0), H(h, "momentum", 0), H(h, "dampening", 0), H(h, "weight_decay", 0), h.TryGetProperty("nesterov", out var n) && n.GetBoolean()),
            "RMSprop" => new RmsProp<T>(set, H(h, "lr", 1e-2), H(h, "alpha", 0.99), H(h, "eps", 1e-8), H(h, "weight_decay", 0), H(h, "momentum", 0)),
            "Adam" => new Adam<T>(set, H(h, "lr", 1e-3), betas[0], betas[1], H(h, "eps", 1e-8), H(h, "weight_decay", 0)),
            "AdamW" => new AdamW<T>(set, H(h, "lr", 1e-3), betas[0], betas[1], H(h, "eps", 1e-8), H(h, "weight_decay", 1e-2)),
            "Adagrad" => new Adagrad<T>(set, H(h, "lr", 1e-2), H(h, "lr_decay", 0), H(h, "weight_decay", 0), H(h, "initial_accumulator_value", 0), H(h, "eps", 1e-10)),
            var o => throw new InvalidDataException(o),
        };
    }

    private static void Run<T>(JsonElement c, string key, double tolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var init = c.GetProperty("initial").EnumerateArray().Select(D).ToArray();
        var tensors = init.Select((v, i) => new ParameterTensor<T>($"p{i}", v.Select(T.CreateChecked).ToArray(), new T[v.Length])).ToArray();
        using var opt = Create(c, new ParameterSet<T>(tensors));
        var grads = c.GetProperty("grads").EnumerateArray().ToArray();
        var after = c.GetProperty(key).EnumerateArray().ToArray();
        for (int s = 0; s < grads.Length; s++)
        {
            var g = grads[s].EnumerateArray().Select(D).ToArray();
            for (int i = 0; i < tensors.Length; i++)
                for (int j = 0; j < g[i].Length; j++) tensors[i].Grad[j] = T.CreateChecked(g[i][j]);
            opt.Step();
            var expected = after[s].EnumerateArray().Select(D).ToArray();
            for (int i = 0; i < tensors.Length; i++)
            {
                double err = Num.MaxRel<double>(tensors[i].Value.Select(v => double.CreateChecked(v)).ToArray(), expected[i]);
                Assert.True(err <= tolerance, $"{c.GetProperty("name").GetString()} ({typeof(T).Name}) step {s + 1} tensor {i}: relative error {err:G3}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void OptimizerStepsEqualPyTorch(string name)
    {
        var c = Load("optimizers").EnumerateArray().First(e => e.GetProperty("name").GetString() == name);
        Run<double>(c, "after_float64", 1e-14);
        Run<float>(c, "after_float32", 1e-6);
    }

    [Fact]
    public void ClippingEqualsPyTorch()
    {
        foreach (var c in Load("clipping").EnumerateArray())
        {
            var g = c.GetProperty("grads").EnumerateArray().Select(D).ToArray();
            var tensors = g.Select((v, i) => new ParameterTensor<double>($"p{i}", new double[v.Length], (double[])v.Clone())).ToArray();
            using var set = new ParameterSet<double>(tensors);
            if (c.GetProperty("kind").GetString() == "norm")
            {
                double normType = c.GetProperty("norm_type").ValueKind == JsonValueKind.String ? double.PositiveInfinity : 2;
                double total = GradientClipping.ClipGradNorm(set, c.GetProperty("max_norm").GetDouble(), normType);
                Assert.True(Math.Abs(total - c.GetProperty("total_norm").GetDouble()) <= 1e-12 * total);
            }
            else GradientClipping.ClipGradValue(set, c.GetProperty("clip_value").GetDouble());
            var expected = c.GetProperty("clipped").EnumerateArray().Select(D).ToArray();
            for (int i = 0; i < tensors.Length; i++) Assert.True(Num.MaxRel<double>(tensors[i].Grad, expected[i]) <= 1e-14);
        }
    }

    [Fact]
    public void SchedulesEqualPyTorch()
    {
        foreach (var c in Load("schedules").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            double lr0 = c.GetProperty("base_lr").GetDouble();
            LearningRateSchedule s = name switch
            {
                "step" => new StepDecay(lr0, 7, 0.5),
                "exponential" => new ExponentialDecay(lr0, 0.9),
                "cosine" => new CosineAnnealing(lr0, 15, 0.001),
                "cyclic_triangular" => new CyclicalTriangular(0.01, 0.1, 5),
                "plateau" => new ReduceLrOnPlateau(lr0, factor: 0.5, patience: 3, threshold: 1e-4, cooldown: 1, minLr: 0.005),
                _ => throw new InvalidDataException(name),
            };
            double[] lrs = D(c.GetProperty("lrs"));
            double[]? metrics = c.GetProperty("metrics").ValueKind == JsonValueKind.Array ? D(c.GetProperty("metrics")) : null;
            for (int e = 0; e < lrs.Length; e++)
            {
                Assert.True(Math.Abs(s.Lr - lrs[e]) <= 1e-12 * Math.Max(1e-3, lrs[e]), $"{name} epoch {e}: {s.Lr:R} vs {lrs[e]:R}");
                s.Step(metrics?[e] ?? double.NaN);
            }
        }
    }

    [Fact]
    public void EarlyStoppingWaitsPatienceEpochsAndRestoresTheBest()
    {
        var p = new ParameterTensor<double>("w", [0.0], [0.0]);
        var es = new EarlyStopping(patience: 2);
        double[] losses = [1.0, 0.5, 0.6, 0.55, 0.7, 0.4];
        int stoppedAt = -1;
        for (int e = 0; e < losses.Length; e++)
        {
            p.Value[0] = e;  // the "parameters" of epoch e
            if (es.Update(e + 1, losses[e], [p])) { stoppedAt = e + 1; break; }
        }
        Assert.Equal(5, stoppedAt);          // epochs 3, 4, 5 did not improve on 0.5: stop after the third
        Assert.Equal(2, es.BestEpoch);
        Assert.Equal(0.5, es.BestMetric);
        es.RestoreBest([p]);
        Assert.Equal(1.0, p.Value[0]);       // the parameters of epoch 2
    }

    [Fact]
    public void BadConfigurationsGiveClearErrors()
    {
        var t = new ParameterTensor<float>("w", new float[3], new float[3]);
        Assert.Contains("Lr must be in [0, inf], got -0.1", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(new ParameterSet<float>([t]), -0.1)).Message);
        Assert.Contains("at least one parameter tensor", Assert.Throws<ArgumentException>(() => new ParameterSet<float>([])).Message);
        Assert.Contains("gradient has 2 elements, expected 3", Assert.Throws<ArgumentException>(() => new ParameterSet<float>([new("w", new float[3], new float[2])])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(new ParameterSet<float>([t]), 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(new ParameterSet<float>([t]), beta1: 1.0));
        using var set = new ParameterSet<float>([t]);
        Assert.Throws<ArgumentException>(() => GradientClipping.ClipGradNorm(set, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepDecay(0.1, 0));
        Assert.Throws<ArgumentException>(() => new ReduceLrOnPlateau(0.1).Step(double.NaN));
    }

    [Fact]
    public void AnOptimizerStepAllocatesNothing()
    {
        var tensors = Enumerable.Range(0, 4).Select(i => new ParameterTensor<float>($"p{i}", new float[100], Enumerable.Repeat(0.1f, 100).ToArray())).ToArray();
        using var adam = new Adam<float>(new ParameterSet<float>(tensors));
        adam.Step();
        GradientClipping.ClipGradNorm(adam.Parameters, 1.0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            GradientClipping.ClipGradNorm(adam.Parameters, 1.0);
            adam.Step();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
