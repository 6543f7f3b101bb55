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
    public void TheReadmeShowsExactlyTheTestedCode()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root != null && !File.Exists(Path.Combine(root.FullName, "HPC.sln"))) root = root.Parent;
        Assert.NotNull(root);
        static string[] Normalize(IEnumerable<string> lines) =>
            lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("using ")).ToArray();
        string[] readme = File.ReadAllLines(Path.Combine(root!.FullName, "README.md"));
        int start = Array.IndexOf(readme, "```csharp") + 1;
        int end = Array.IndexOf(readme, "```", start);
        string[] test = File.ReadAllLines(Path.Combine(root.FullName, "tests", "Hpc.Tests", "ReadmeExampleTests.cs"));
        int tStart = Array.FindIndex(test, l => l.Contains("--- begin README example")) + 1;
        int tEnd = Array.FindIndex(test, l => l.Contains("--- end README example"));
        Assert.Equal(Normalize(test[tStart..tEnd]), Normalize(readme[start..end]));
    }
}
