using Hpc.Hmm;
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
        foreach (string marker in new[] { "README example", "README HMM example" })
        {
            start = Array.IndexOf(readme, "```csharp", start) + 1;
            int end = Array.IndexOf(readme, "```", start);
            int tStart = Array.FindIndex(test, l => l.Contains("--- begin " + marker + " ---")) + 1;
            int tEnd = Array.FindIndex(test, l => l.Contains("--- end " + marker + " ---"));
            Assert.Equal(Normalize(test[tStart..tEnd]), Normalize(readme[start..end]));
        }
    }
}
