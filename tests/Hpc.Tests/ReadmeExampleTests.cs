using Hpc.Hmm;
using Hpc.Training;
using Hpc.IO;
using Xunit;

namespace Hpc.Tests;

/// <summary>The README's C# example, as written there, compiles and runs.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void RecurrentNetworkExampleRuns()
    {
        string cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = AppContext.BaseDirectory;  // the example uses a path relative to the repo root
        try
        {
            // --- begin README example ---
            // 2 layers, bidirectional, input size 8, hidden size 16; float32 (use double for float64).
            using var lstm = new Lstm<float>(inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true, seed: 42);
            lstm.LoadSafeTensors("examples/lstm/weights.safetensors");     // PyTorch names: weight_ih_l0, ..._reverse

            int batch = 4, steps = 12;
            var x = new float[batch * steps * 8];                          // [B, T, I]
            var y = new float[batch * steps * lstm.OutputSize];            // [B, T, 2*16]
            var hn = new float[2 * 2 * batch * 16];                        // [L*D, B, H]
            lstm.Forward(x, batch, steps, y, hn: hn, training: true);

            var dy = new float[y.Length];                                  // dLoss/dy from your loss
            var dx = new float[x.Length];
            lstm.Backward(x, dy, gradInput: dx);                           // fills lstm.Gradients (overwrites)
            Span<float> dWhh = lstm.Gradient("weight_hh_l1_reverse");      // [4*16, 16]
            // --- end README example ---
            Assert.Equal(64 * 16, dWhh.Length);
            Assert.Contains(y, v => v != 0);
        }
        finally { Environment.CurrentDirectory = cwd; }
    }

    [Fact]
    public void HmmExampleRuns()
    {
        string cwd = Environment.CurrentDirectory;
        string dir = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "examples"));
        foreach (string f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "examples", "hmm")))
        {
            Directory.CreateDirectory(Path.Combine(dir, "examples", "hmm"));
            File.Copy(f, Path.Combine(dir, "examples", "hmm", Path.GetFileName(f)));
        }
        Environment.CurrentDirectory = dir;
        try
        {
            // --- begin README HMM example ---
            // 600 rows of 2 features in 5 sequences (examples/hmm/make_data.py made them from a 3-state model).
            double[] x = Npy.Read("examples/hmm/observations.npy").ToDoubleArray();                  // [N, 2]
            int[] lengths = Array.ConvertAll(Npy.Read("examples/hmm/lengths.npy").ToInt64Array(), v => (int)v);

            var model = new GaussianHmm(nComponents: 3, CovarianceType.Diag) { RandomState = 1, NIter = 50 };
            model.Fit(x, nFeatures: 2, lengths);                      // k-means init, then EM over all sequences at once
            double logLikelihood = model.Score(x, lengths);           // total; ScorePerSequence gives one per sequence
            int[] states = model.Predict(x, lengths);                 // Viterbi path, one state per row
            double[] gamma = model.PredictProba(x, lengths);          // posteriors [N, 3]
            HmmModelFile.Save("model.json", model);                   // hmmlearn's shapes and names, lossless
            // --- end README HMM example ---
            Assert.True(File.Exists("model.json"));
            Assert.Equal(600, states.Length);
            Assert.Equal(1800, gamma.Length);
            Assert.True(double.IsFinite(logLikelihood));
            // The fitted states recover the true ones up to relabelling: each fitted state maps to one true state.
            long[] truth = Npy.Read("examples/hmm/true_states.npy").ToInt64Array();
            int agree = 0;
            for (int k = 0; k < 3; k++)
            {
                var rows = Enumerable.Range(0, 600).Where(r => states[r] == k).ToArray();
                if (rows.Length == 0) continue;
                agree += rows.GroupBy(r => truth[r]).Max(g => g.Count());
            }
            Assert.True(agree >= 0.95 * 600, $"only {agree} of 600 states recovered");
        }
        finally { Environment.CurrentDirectory = cwd; }
    }

    [Fact]
    public void TrainingExamplesRun()
    {
        string cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = TestData.TempDir();  // the example writes files; tests of this class run one at a time
        try
        {
            // --- begin README training example ---
            // Mean-sign task: is the mean of 20 values positive? x [N, T, 1], one 0/1 target per sequence.
            var rng = new Random(1);
            float[] x = Enumerable.Range(0, 800 * 20).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            float[] y = Enumerable.Range(0, 800).Select(i => x.AsSpan(i * 20, 20).ToArray().Sum() > 0 ? 1f : 0f).ToArray();

            using var model = new Sequential<float>(
                new Recurrent<float>(RecurrentCell.Lstm, inputSize: 1, hiddenSize: 16, seed: 1),   // last step (Keras's default)
                new Dropout<float>(0.1, seed: 2),
                new Dense<float>(16, 1, Activation.Linear, seed: 3));                             // a logit
            Initializers.InitializeRecurrent(((Recurrent<float>)model.Layers[0]).Modules[0], RecurrentInit.GlorotOrthogonal, seed: 4, forgetBias: 1.0);
            using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters), lr: 1e-2);
            var diagnostics = new GradientDiagnostics();
            var history = Trainer.Fit(model, adam, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 20, 1), y, new TrainingOptions
            {
                Epochs = 10, BatchSize = 32, ValidationSplit = 0.2, Seed = 5, ClipNorm = 5.0,    // clip_grad_norm_(..., 5.0)
                Schedule = new CosineAnnealing(1e-2, tMax: 10), EarlyStopping = new EarlyStopping(patience: 3),
                Diagnostics = diagnostics, Log = Console.Out,                                    // Log = null is quiet
            });
            Console.WriteLine($"validation accuracy {history.Epochs[^1].ValidationAccuracy:P1}, gradient flow {diagnostics.Classify().Verdict}");
            diagnostics.ExportCsv("gradients.csv");                                              // per-step, per-parameter norms
            model.Save("model.safetensors");                                                     // weights + architecture
            using var again = Sequential<float>.Load("model.safetensors");                       // predicts identically
            // --- end README training example ---
            Assert.True(File.Exists("gradients.csv"));
            Assert.Equal(model.Forward(x.AsSpan(0, 20 * 4), new Shape(4, 20, 1)).ToArray(), again.Forward(x.AsSpan(0, 20 * 4), new Shape(4, 20, 1)).ToArray());
            Assert.True(history.Epochs.Max(e => e.ValidationAccuracy) >= 0.85, $"best validation accuracy {history.Epochs.Max(e => e.ValidationAccuracy):P1}");

            // --- begin README search example ---
            var search = HyperparameterSearch.Random(new Dictionary<string, Distribution>
            {
                ["lr"] = new LogUniform(1e-4, 1e-1), ["units"] = new IntRange(4, 32), ["cell"] = new Choice("lstm", "gru"),
            }, trials: 8, seed: 42, config => Math.Abs(Math.Log10((double)config["lr"]) + 2.5));  // your training run's validation loss here
            Console.WriteLine($"best {string.Join(", ", search.Best.Config)} after {search.Trials.Count} trials");
            // --- end README search example ---
            Assert.Equal(8, search.Trials.Count);
        }
        finally { Environment.CurrentDirectory = cwd; }
    }

    [Fact]
    public void TheReadmeShowsExactlyTheTestedCode()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root != null && !File.Exists(Path.Combine(root.FullName, "HPC.sln"))) root = root.Parent;
        Assert.NotNull(root);
        static string[] Normalize(IEnumerable<string> lines) =>
            lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("using ")).ToArray();
        string[] readme = File.ReadAllLines(Path.Combine(root!.FullName, "README.md"));
        string[] test = File.ReadAllLines(Path.Combine(root.FullName, "tests", "Hpc.Tests", "ReadmeExampleTests.cs"));
        int start = 0;
        foreach (string marker in new[] { "README example", "README HMM example", "README training example", "README search example" })
        {
            start = Array.IndexOf(readme, "```csharp", start) + 1;
            int end = Array.IndexOf(readme, "```", start);
            int tStart = Array.FindIndex(test, l => l.Contains("--- begin " + marker + " ---")) + 1;
            int tEnd = Array.FindIndex(test, l => l.Contains("--- end " + marker + " ---"));
            Assert.Equal(Normalize(test[tStart..tEnd]), Normalize(readme[start..end]));
        }
    }
}
