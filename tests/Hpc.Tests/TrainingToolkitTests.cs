using Hpc.Training;
using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

public class TrainingToolkitTests(ITestOutputHelper output)
{
    /// <summary>Every parameter gradient of a whole model equals a central difference (float64, Richardson).</summary>
    private static void CheckModelGradients(Sequential<double> model, double[] x, Shape shape, LossKind loss, double[] target, string what)
    {
        var y = model.Forward(x, shape, training: true).ToArray();
        var os = model.OutputShape(shape);
        var g = new double[os.Length];
        Losses.Compute(loss, y, os, target, g);
        model.Backward(g);
        var ps = model.Parameters;
        var analytic = ps.Select(p => (double[])p.Grad.Clone()).ToArray();
        double L()
        {
            var yy = model.Forward(x, shape);
            return Losses.Compute(loss, yy, os, target, new double[os.Length]);
        }
        const double h = 1e-4;
        double worst = 0;
        for (int t = 0; t < ps.Count; t++)
        {
            var v = ps[t].Value;
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                double At(double d) { v[i] = keep + d; return L(); }
                double d1 = (At(h) - At(-h)) / (2 * h), d2 = (At(2 * h) - At(-2 * h)) / (4 * h);
                v[i] = keep;
                double num = (4 * d1 - d2) / 3, a = analytic[t][i];
                double err = Math.Abs(a - num) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(num)), 1e-5);
                Assert.True(err <= 1e-6, $"{what}: {ps[t].Name}[{i}] analytic {a:R} numeric {num:R} rel {err:G3}");
                worst = Math.Max(worst, err);
            }
        }
    }

    [Fact]
    public void ModelGradientsEqualCentralDifferencesForEveryLayerAndLoss()
    {
        var rng = new Random(1);
        const int B = 3, T = 5, F = 2;
        var x = Num.Random(rng, B * T * F);
        var shape = new Shape(B, T, F);
        // LSTM (last step) -> Dense tanh -> Dense linear, MSE.
        using (var m = new Sequential<double>(new Recurrent<double>(RecurrentCell.Lstm, F, 4, seed: 2), new Dense<double>(4, 3, Activation.Tanh, 3), new Dense<double>(3, 2, seed: 4)))
            CheckModelGradients(m, x, shape, LossKind.MeanSquaredError, Num.Random(rng, B * 2), "lstm-dense-mse");
        // Bidirectional GRU, 2 layers, all steps -> Dense softmax-logits per step, cross-entropy per time step.
        using (var m = new Sequential<double>(new Recurrent<double>(RecurrentCell.Gru, F, 3, 2, bidirectional: true, returnSequences: true, seed: 5), new Dense<double>(6, 4, seed: 6)))
            CheckModelGradients(m, x, shape, LossKind.SoftmaxCrossEntropy, Enumerable.Range(0, B * T).Select(i => (double)(i % 4)).ToArray(), "gru-ce-per-step");
        // Bidirectional RNN, last step -> Dense sigmoid ... logits, BCE with logits.
        using (var m = new Sequential<double>(new Recurrent<double>(RecurrentCell.RnnTanh, F, 3, bidirectional: true, seed: 7), new Dense<double>(6, 1, seed: 8)))
            CheckModelGradients(m, x, shape, LossKind.BinaryCrossEntropyWithLogits, [1, 0, 1], "rnn-bce");
        // Embedding -> LSTM -> Dense softmax activation, MSE on probabilities (exercises the softmax backward).
        var tokens = Enumerable.Range(0, B * T).Select(i => (double)(i * 7 % 5)).ToArray();
        using (var m = new Sequential<double>(new Embedding<double>(5, 3, 9), new Recurrent<double>(RecurrentCell.Lstm, 3, 3, seed: 10), new Dense<double>(3, 3, Activation.Softmax, 11)))
            CheckModelGradients(m, tokens, new Shape(B, T, 1), LossKind.MeanSquaredError, Num.Random(rng, B * 3), "embedding-softmax");
        // Stacked LSTM with inter-layer dropout 0 path is the fused one; with dropout the separate-module path (dropout off at p ~ 0 is not the same path):
        using (var m = new Sequential<double>(new Recurrent<double>(RecurrentCell.Lstm, F, 3, 2, dropout: 1e-9, seed: 12), new Dense<double>(3, 1, Activation.Relu, 13)))
            CheckModelGradients(m, x, shape, LossKind.MeanSquaredError, Num.Random(rng, B), "stacked-separate-modules");
        // Three separate bidirectional modules, all steps: the gradient buffers are reused from layer to layer.
        using (var m = new Sequential<double>(new Recurrent<double>(RecurrentCell.Gru, F, 2, 3, bidirectional: true, returnSequences: true, dropout: 1e-9, seed: 14), new Dense<double>(4, 1, seed: 15)))
            CheckModelGradients(m, x, shape, LossKind.MeanSquaredError, Num.Random(rng, B * T), "stacked-three-separate-modules");
    }

    [Fact]
    public void DropoutKeepsExpectationsAndIsOffAtInference()
    {
        var d = new Dropout<double>(0.3, seed: 4);
        var x = Enumerable.Repeat(2.0, 200_000).ToArray();
        var y = new double[x.Length];
        var s = new Shape(1, 0, x.Length);
        d.Forward(x, s, y, training: true);
        double mean = y.Average(), zeros = y.Count(v => v == 0) / (double)y.Length;
        Assert.InRange(mean, 2 * 0.99, 2 * 1.01);
        Assert.InRange(zeros, 0.29, 0.31);
        d.Forward(x, s, y, training: false);
        Assert.All(y, v => Assert.Equal(2.0, v));
    }

    [Fact]
    public void SaveLoadPredictIsIdentical()
    {
        string path = Path.Combine(TestData.TempDir(), "model.safetensors");
        var rng = new Random(3);
        var x = Num.ToSingle(Num.Random(rng, 4 * 6 * 3));
        var shape = new Shape(4, 6, 3);
        using var m = new Sequential<float>(new Recurrent<float>(RecurrentCell.Gru, 3, 5, 2, bidirectional: true, seed: 1), new Dropout<float>(0.2), new Dense<float>(10, 4, Activation.Softmax, 2));
        var before = m.Forward(x, shape).ToArray();
        m.Save(path);
        using var back = Sequential<float>.Load(path);
        Assert.Equal(before, back.Forward(x, shape).ToArray());
        Assert.Contains("recurrent", Hpc.IO.SafeTensors.Read(path).Metadata["architecture"]);
    }

    /// <summary>Mean-sign task: is the mean of a sequence positive? An LSTM learns it to high accuracy.</summary>
    internal static (float[] X, float[] Y) MeanSign(int n, int steps, ulong seed) => SyntheticData.MeanSign(n, steps, seed);

    [Fact]
    public void TrainingConvergesOnALearnableTaskWithAFixedSeed()
    {
        var (x, y) = MeanSign(1200, 12, 5);
        using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.Lstm, 1, 16, seed: 1), new Dense<float>(16, 1, seed: 2));
        using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters), lr: 1e-2);
        var h = Trainer.Fit(model, adam, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 12, 1), y,
            new TrainingOptions { Epochs = 12, BatchSize = 32, ValidationSplit = 0.25, Seed = 7 });
        var last = h.Epochs[^1];
        output.WriteLine($"validation accuracy {last.ValidationAccuracy:P1} after {h.Epochs.Count} epochs");
        Assert.True(last.ValidationAccuracy >= 0.9, $"validation accuracy {last.ValidationAccuracy:P1} < 90 %");
        Assert.True(h.Epochs[^1].TrainLoss < h.Epochs[0].TrainLoss);
        // Same seed, same result.
        using var model2 = new Sequential<float>(new Recurrent<float>(RecurrentCell.Lstm, 1, 16, seed: 1), new Dense<float>(16, 1, seed: 2));
        using var adam2 = new Adam<float>(new ParameterSet<float>(model2.Parameters), lr: 1e-2);
        var h2 = Trainer.Fit(model2, adam2, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 12, 1), y,
            new TrainingOptions { Epochs = 12, BatchSize = 32, ValidationSplit = 0.25, Seed = 7 });
        Assert.Equal(h.Epochs.Select(e => e.TrainLoss), h2.Epochs.Select(e => e.TrainLoss));
    }

    [Fact]
    public void EarlyStoppingRestoresTheBestWeightsInTraining()
    {
        var (x, y) = MeanSign(300, 8, 9);
        using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.Gru, 1, 8, seed: 1), new Dense<float>(8, 1, seed: 2));
        using var sgd = new Sgd<float>(new ParameterSet<float>(model.Parameters), lr: 0.5);  // noisy on purpose
        var es = new EarlyStopping(patience: 1);
        var h = Trainer.Fit(model, sgd, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 8, 1), y,
            new TrainingOptions { Epochs = 30, BatchSize = 16, ValidationSplit = 0.3, EarlyStopping = es });
        var (valLoss, _) = Trainer.Evaluate(model, LossKind.BinaryCrossEntropyWithLogits, x.AsSpan(210 * 8), new Shape(0, 8, 1), y.AsSpan(210));
        Assert.Equal(es.BestEpoch, h.FinalWeightsEpoch);
        Assert.True(Math.Abs(valLoss - es.BestMetric) <= 1e-6 * es.BestMetric, $"restored weights give {valLoss}, best was {es.BestMetric}");
    }

    [Fact]
    public void DiagnosticsFlagASimpleRnnOver50StepsAsVanishingAndAClippedLstmAsHealthy()
    {
        var (x, y) = MeanSign(256, 50, 11);
        var shape = new Shape(0, 50, 1);
        var rnnDiag = new GradientDiagnostics();
        using (var rnn = new Sequential<float>(new Recurrent<float>(RecurrentCell.RnnTanh, 1, 10, seed: 3), new Dense<float>(10, 1, seed: 4)))
        using (var adam = new Adam<float>(new ParameterSet<float>(rnn.Parameters)))
            Trainer.Fit(rnn, adam, LossKind.BinaryCrossEntropyWithLogits, x, shape, y, new TrainingOptions { Epochs = 2, BatchSize = 32, Diagnostics = rnnDiag });
        var r1 = rnnDiag.Classify();
        output.WriteLine($"SimpleRNN: {r1}");
        Assert.Equal(GradientFlow.Vanishing, r1.Verdict);
        Assert.Equal(50, rnnDiag.HiddenGradientNorms.Length);

        var lstmDiag = new GradientDiagnostics();
        using (var lstm = new Sequential<float>(new Recurrent<float>(RecurrentCell.Lstm, 1, 10, seed: 3), new Dense<float>(10, 1, seed: 4)))
        {
            Initializers.InitializeRecurrent(((Recurrent<float>)lstm.Layers[0]).Modules[0], RecurrentInit.GlorotOrthogonal, 5, forgetBias: 1.0);
            using var adam = new Adam<float>(new ParameterSet<float>(lstm.Parameters));
            Trainer.Fit(lstm, adam, LossKind.BinaryCrossEntropyWithLogits, x, shape, y, new TrainingOptions { Epochs = 2, BatchSize = 32, ClipNorm = 5.0, Diagnostics = lstmDiag });
        }
        var r2 = lstmDiag.Classify();
        output.WriteLine($"LSTM, clipped: {r2}");
        Assert.Equal(GradientFlow.Healthy, r2.Verdict);
        string dir = TestData.TempDir();
        lstmDiag.ExportCsv(Path.Combine(dir, "g.csv"));
        lstmDiag.ExportJson(Path.Combine(dir, "g.json"));
        Assert.StartsWith("step,epoch,loss,grad_norm,grad_norm_applied,0.recurrent.rnn,1.dense.weight", File.ReadLines(Path.Combine(dir, "g.csv")).First());
        Assert.Contains("\"verdict\": \"healthy\"", File.ReadAllText(Path.Combine(dir, "g.json")));
    }

    [Fact]
    public void GridAndRandomSearchAreCompleteAndReproducible()
    {
        var grid = HyperparameterSearch.Grid(new Dictionary<string, object[]> { ["a"] = [1, 2, 3], ["b"] = [10.0, 20.0] },
            c => Math.Abs((int)c["a"] * (double)c["b"] - 40));
        Assert.Equal(6, grid.Trials.Count);
        Assert.Equal(2, grid.Best.Config["a"]);
        Assert.Equal(20.0, grid.Best.Config["b"]);
        var space = new Dictionary<string, Distribution> { ["lr"] = new LogUniform(1e-4, 1e-1), ["units"] = new IntRange(4, 32), ["cell"] = new Choice("lstm", "gru") };
        var r1 = HyperparameterSearch.Random(space, 12, 42, c => Math.Abs(Math.Log10((double)c["lr"]) + 2));
        var r2 = HyperparameterSearch.Random(space, 12, 42, c => Math.Abs(Math.Log10((double)c["lr"]) + 2));
        Assert.Equal(r1.Trials.Select(t => t.Config["lr"]), r2.Trials.Select(t => t.Config["lr"]));
        Assert.All(r1.Trials, t => Assert.InRange((double)t.Config["lr"], 1e-4, 1e-1));
        Assert.All(r1.Trials, t => Assert.InRange((int)t.Config["units"], 4, 32));
        Assert.Equal(r1.Trials.MinBy(t => t.Score)!.Index, r1.Best.Index);
    }

    [Fact]
    public void InitializersHaveTheirDefiningProperties()
    {
        var w = new double[6 * 6];
        Initializers.Orthogonal<double>(w, 6, 6, 3);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                double dot = 0;
                for (int k = 0; k < 6; k++) dot += w[k * 6 + i] * w[k * 6 + j];
                Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) < 1e-12);
            }
        var g = new float[1000];
        Initializers.GlorotUniform<float>(g, 30, 20, 1);
        double a = Math.Sqrt(6.0 / 50);
        Assert.All(g, v => Assert.InRange(v, -a, a));
        Assert.True(g.Max() > 0.9 * a);
        using var lstm = new Lstm<float>(3, 4);
        Initializers.InitializeRecurrent(lstm, RecurrentInit.GlorotOrthogonal, 7, forgetBias: 1.0);
        var bih = lstm.Parameter("bias_ih_l0");
        var bhh = lstm.Parameter("bias_hh_l0");
        for (int j = 0; j < 4; j++) Assert.Equal(1.0f, bih[4 + j] + bhh[4 + j]);
        Assert.Equal(0.0f, bih[0]);
    }

    [Fact]
    public void InitializersAndSyntheticDataRejectBadArguments()
    {
        var w = new float[6];
        Assert.Equal("fanIn", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.GlorotUniform<float>(w, 0, 3, 1)).ParamName);
        Assert.Equal("fanOut", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.GlorotNormal<float>(w, 2, -1, 1)).ParamName);
        Assert.Equal("fanIn", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.HeNormal<float>(w, 0, 1)).ParamName);
        Assert.Equal("gain", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Orthogonal<float>(w, 2, 3, 1, double.NaN)).ParamName);
        Assert.Throws<ArgumentException>(() => Initializers.Orthogonal<float>(w, 2, 2, 1));
        using var lstm = new Lstm<float>(2, 3);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.InitializeRecurrent(lstm, RecurrentInit.GlorotOrthogonal, 1, scale: double.PositiveInfinity)).ParamName);
        Assert.Equal("forgetBias", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.InitializeRecurrent(lstm, RecurrentInit.PyTorchDefault, 1, forgetBias: double.NaN)).ParamName);
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticData.MeanSign(0, 5, 1)).ParamName);
        Assert.Equal("etaMin", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealing(0.1, 10, etaMin: 0.5)).ParamName);
        var (x, y) = SyntheticData.MeanSign(50, 7, 3);
        Assert.Equal(350, x.Length);
        for (int i = 0; i < 50; i++) Assert.Equal(x.AsSpan(i * 7, 7).ToArray().Sum() > 0 ? 1f : 0f, y[i]);
    }

    [Fact]
    public void BadConfigurationsGiveClearErrors()
    {
        using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.Lstm, 2, 4), new Dense<float>(4, 1));
        using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters));
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(model, adam, LossKind.MeanSquaredError, new float[15], new Shape(0, 5, 2), new float[1], new TrainingOptions()));
        Assert.Contains("expected N samples of 10 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => Trainer.Fit(model, adam, LossKind.MeanSquaredError, new float[20], new Shape(0, 5, 2), new float[3], new TrainingOptions()));
        Assert.Contains("targets: expected 2 samples x 1 values = 2, got 3", e.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(new float[12], new Shape(2, 2, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(model, adam, LossKind.MeanSquaredError, new float[20], new Shape(0, 5, 2), new float[2], new TrainingOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentException>(() => Losses.Compute<float>(LossKind.SoftmaxCrossEntropy, new float[6], new Shape(2, 0, 3), [0, 3], new float[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(1.0));
    }
}
