using Hpc.IO;
using Xunit;

namespace Hpc.Tests;

/// <summary>The hpc CLI end to end on PyTorch-exported safetensors and .npy files.</summary>
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Cli(string file) => TestData.Path("cli", file);

    [Theory]
    [InlineData("lstm_f64_", "lstm", 2, true, true, 1e-10)]
    [InlineData("lstm_f32_", "lstm", 2, true, true, 1e-4)]
    [InlineData("gru_f32_", "gru", 1, false, false, 1e-4)]
    [InlineData("rnn_relu_f64_", "rnn_relu", 2, false, true, 1e-10)]
    public void ForwardReproducesPyTorch(string prefix, string cell, int layers, bool bi, bool state, double tolerance)
    {
        string dir = TestData.TempDir();
        string y = Path.Combine(dir, "y.npy"), hn = Path.Combine(dir, "hn.npy"), cn = Path.Combine(dir, "cn.npy");
        var args = new List<string> { "rnn", "forward", "--cell", cell, "--layers", layers.ToString(), "--weights", Cli(prefix + "weights.safetensors"),
            "--input", Cli(prefix + "input.npy"), "--output", y, "--hn", hn };
        if (bi) args.Add("--bidirectional");
        if (state) args.AddRange(["--h0", Cli(prefix + "h0.npy")]);
        bool lstm = cell == "lstm";
        if (state && lstm) args.AddRange(["--c0", Cli(prefix + "c0.npy")]);
        if (lstm) args.AddRange(["--cn", cn]);
        var (code, stdout, stderr) = Run([.. args]);
        Assert.True(code == 0, stderr);
        Assert.Contains("rnn forward", stdout);
        var expected = Npy.Read(Cli(prefix + "expected_output.npy"));
        var actual = Npy.Read(y);
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(Num.MaxRel<double>(actual.ToDoubleArray(), expected.ToDoubleArray()) <= tolerance, "output");
        Assert.True(Num.MaxRel<double>(Npy.Read(hn).ToDoubleArray(), Npy.Read(Cli(prefix + "expected_hn.npy")).ToDoubleArray()) <= tolerance, "hn");
        if (lstm) Assert.True(Num.MaxRel<double>(Npy.Read(cn).ToDoubleArray(), Npy.Read(Cli(prefix + "expected_cn.npy")).ToDoubleArray()) <= tolerance, "cn");
    }

    [Fact]
    public void TheBundledExampleMatchesPyTorch()
    {
        string dir = TestData.TempDir(), y = Path.Combine(dir, "y.npy");
        string E(string f) => TestData.Example("lstm", f);
        var (code, _, err) = Run("rnn", "forward", "--cell", "lstm", "--layers", "2", "--bidirectional", "--weights", E("weights.safetensors"),
            "--input", E("input.npy"), "--h0", E("h0.npy"), "--c0", E("c0.npy"), "--output", y);
        Assert.True(code == 0, err);
        var (diffCode, diffOut, _) = Run("npy", "diff", y, E("expected_output.npy"), "--rtol", "1e-5");
        Assert.Equal(0, diffCode);
        Assert.Contains("OK", diffOut);
    }

    [Fact]
    public void NpyDiffFailsOnDifferentArrays()
    {
        var (code, stdout, _) = Run("npy", "diff", Cli("lstm_f64_h0.npy"), Cli("lstm_f64_expected_hn.npy"));
        Assert.Equal(1, code);
        Assert.Contains("DIFFERENT", stdout);
    }

    private static void AssertUsageError((int Code, string Out, string Err) r, params string[] fragments)
    {
        Assert.Equal(2, r.Code);
        string line = r.Err.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("hpc: error: ", line);
        foreach (string f in fragments) Assert.Contains(f, line);
    }

    [Fact]
    public void InputWithWrongFeatureCountNamesFileTensorExpectedAndActual()
    {
        string y = Path.Combine(TestData.TempDir(), "y.npy");
        // The GRU weights expect input size 3; the LSTM input has 4 features.
        AssertUsageError(Run("rnn", "forward", "--cell", "gru", "--weights", Cli("gru_f32_weights.safetensors"), "--input", Cli("lstm_f32_input.npy"), "--output", y),
            "lstm_f32_input.npy", "input", "expected shape [B, T, 3]", "got [3, 6, 4]");
    }

    [Fact]
    public void WrongCellForTheWeightsIsReported()
    {
        string y = Path.Combine(TestData.TempDir(), "y.npy");
        AssertUsageError(Run("rnn", "forward", "--cell", "lstm", "--weights", Cli("gru_f32_weights.safetensors"), "--input", Cli("gru_f32_input.npy"), "--output", y),
            "gru_f32_weights.safetensors", "weight_hh_l0", "expected shape [4*H, H]", "got [12, 4]");
    }

    [Fact]
    public void WrongLayerCountIsReportedAsAMissingOrUnexpectedTensor()
    {
        string y = Path.Combine(TestData.TempDir(), "y.npy");
        AssertUsageError(Run("rnn", "forward", "--cell", "lstm", "--layers", "3", "--bidirectional", "--weights", Cli("lstm_f64_weights.safetensors"), "--input", Cli("lstm_f64_input.npy"), "--output", y),
            "lstm_f64_weights.safetensors", "missing tensor 'weight_ih_l2'", "expected shape [20, 10]");
        AssertUsageError(Run("rnn", "forward", "--cell", "lstm", "--layers", "2", "--weights", Cli("lstm_f64_weights.safetensors"), "--input", Cli("lstm_f64_input.npy"), "--output", y),
            "unexpected tensor 'weight_ih_l0_reverse'");
    }

    [Fact]
    public void InitialStateWithWrongShapeIsReported()
    {
        string y = Path.Combine(TestData.TempDir(), "y.npy");
        AssertUsageError(Run("rnn", "forward", "--cell", "rnn_relu", "--layers", "2", "--weights", Cli("rnn_relu_f64_weights.safetensors"), "--input", Cli("rnn_relu_f64_input.npy"),
            "--h0", Cli("lstm_f64_h0.npy"), "--output", y), "lstm_f64_h0.npy", "h0", "expected shape [2, 2, 3]", "got [4, 3, 5]");
    }

    [Fact]
    public void TruncatedWeightsFileIsReported()
    {
        string dir = TestData.TempDir(), w = Path.Combine(dir, "w.safetensors");
        byte[] b = File.ReadAllBytes(Cli("gru_f32_weights.safetensors"));
        File.WriteAllBytes(w, b[..^10]);
        AssertUsageError(Run("rnn", "forward", "--cell", "gru", "--weights", w, "--input", Cli("gru_f32_input.npy"), "--output", Path.Combine(dir, "y.npy")),
            "w.safetensors", "truncated");
    }

    [Fact]
    public void IntegerInputIsRejected()
    {
        string dir = TestData.TempDir(), x = Path.Combine(dir, "x.npy");
        Npy.Write<long>(x, new long[6], 1, 2, 3);
        AssertUsageError(Run("rnn", "forward", "--cell", "gru", "--weights", Cli("gru_f32_weights.safetensors"), "--input", x, "--output", Path.Combine(dir, "y.npy")),
            "x.npy", "expected float32 or float64, got Int64");
    }

    [Fact]
    public void MissingFileAndUnknownCellAreUsageErrors()
    {
        AssertUsageError(Run("rnn", "forward", "--cell", "gru", "--weights", "/nonexistent/w.safetensors", "--input", "x.npy", "--output", "y.npy"), "/nonexistent/w.safetensors");
        var r = Run("rnn", "forward", "--cell", "transformer", "--weights", "w", "--input", "x", "--output", "y");
        Assert.Equal(2, r.Code);
        Assert.Contains("transformer", r.Err);
    }
}
