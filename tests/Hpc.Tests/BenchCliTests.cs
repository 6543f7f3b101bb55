using System.Text.Json;
using Hpc.Hmm;
using Hpc.IO;
using Xunit;

namespace Hpc.Tests;

/// <summary>hpc bench prints one JSON line per configuration with the documented fields, and rejects bad sizes.</summary>
public class BenchCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static JsonElement Line(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    [Theory]
    [InlineData("lstm", "training")]
    [InlineData("gru", "inference")]
    [InlineData("lstm_peephole", "training")]
    public void RnnBenchPrintsTheDocumentedFields(string cell, string mode)
    {
        var (code, stdout, err) = Run("bench", "rnn", "--cell", cell, "--batch", "2", "--seq", "3", "--input", "4", "--hidden", "5", "--mode", mode, "--repeats", "3", "--warmup", "1");
        Assert.True(code == 0, err);
        var j = Line(stdout);
        foreach (string k in new[] { "median_ms", "min_ms", "max_ms", "gflops", "peak_rss_mb", "cell", "batch", "seq", "hidden", "mode", "backend" })
            Assert.True(j.TryGetProperty(k, out _), $"missing {k}");
        Assert.True(j.GetProperty("min_ms").GetDouble() <= j.GetProperty("median_ms").GetDouble());
        Assert.True(j.GetProperty("median_ms").GetDouble() <= j.GetProperty("max_ms").GetDouble());
        double flops = 2.0 * 2 * 3 * (cell == "gru" ? 3 : 4) * 5 * (4 + 5) * (mode == "training" ? 3 : 1);
        Assert.Equal(flops, j.GetProperty("gemm_flops").GetDouble());
    }

    [Fact]
    public void HmmAndGemmBenchesRun()
    {
        foreach (string op in new[] { "fit-iteration", "score", "decode", "posteriors" })
        {
            var (code, stdout, err) = Run("bench", "hmm", "--states", "3", "--dims", "2", "--length", "200", "--sequences", "4", "--op", op, "--repeats", "1", "--warmup", "0");
            Assert.True(code == 0, err);
            Assert.Equal(op, Line(stdout).GetProperty("op").GetString());
        }
        var c = Run("bench", "hmm", "--emission", "categorical", "--states", "2", "--dims", "4", "--length", "100", "--op", "decode", "--repeats", "1");
        Assert.Equal(0, c.Code);
        foreach (var kernel in new[] { "hpc", "blas" })
        {
            var g = Run("bench", "gemm", "--size", "32", "--kernel", kernel, "--repeats", "1", "--warmup", "0");
            Assert.True(g.Code == 0, g.Err);
            Assert.Equal(kernel, Line(g.Out).GetProperty("kernel").GetString());
            Assert.Contains("OpenBLAS", Line(g.Out).GetProperty("backend").GetString());
            Assert.Contains("float32 RNN kernel=", Line(g.Out).GetProperty("backend").GetString());
        }
        Assert.Equal(2, Run("bench", "gemm", "--kernel", "mkl").Code);
        var w = Run("bench", "rnn", "--cell", "gru", "--batch", "2", "--seq", "3", "--input", "4", "--hidden", "5", "--repeats", "1", "--warmup", "0", "--warmup-ms", "30");
        Assert.True(w.Code == 0, w.Err);
        Assert.Equal(30, Line(w.Out).GetProperty("warmup_ms").GetInt32());
        var wh = Run("bench", "hmm", "--states", "3", "--dims", "2", "--length", "200", "--sequences", "4", "--repeats", "1", "--warmup", "0", "--warmup-ms", "30");
        Assert.True(wh.Code == 0, wh.Err);
        Assert.Equal(30, Line(wh.Out).GetProperty("warmup_ms").GetInt32());
        Assert.Contains("--warmup-ms: expected >= 0, got -1",
                        Run("bench", "hmm", "--states", "3", "--length", "200", "--warmup-ms", "-1").Err);
        var f = Run("bench", "rnn", "--cell", "lstm", "--batch", "2", "--seq", "3", "--input", "4", "--hidden", "5", "--frozen-weights", "--repeats", "1", "--warmup", "0");
        Assert.True(f.Code == 0, f.Err);
        Assert.True(Line(f.Out).GetProperty("frozen_weights").GetBoolean());
        var ft = Run("bench", "rnn", "--cell", "lstm", "--batch", "2", "--seq", "3", "--input", "4", "--hidden", "5", "--frozen-weights", "--mode", "training", "--repeats", "1", "--warmup", "0");
        Assert.True(ft.Code == 0, ft.Err);
        Assert.True(Line(ft.Out).GetProperty("frozen_weights").GetBoolean());
        Assert.Equal("training", Line(ft.Out).GetProperty("mode").GetString());
        var bad = Run("bench", "rnn", "--cell", "gru", "--batch", "2", "--seq", "3", "--input", "4", "--hidden", "5", "--warmup-ms", "-1");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--warmup-ms: expected >= 0, got -1", bad.Err);
    }

    /// <summary>
    /// --save writes the data and starting parameters that were timed and one more run's outputs: the library, given
    /// the saved inputs, reproduces the saved outputs exactly (what a side-by-side run of another library relies on).
    /// </summary>
    [Fact]
    public void HmmBenchSavesTheTimedInputsAndTheirOutputs()
    {
        string root = Path.Combine(Path.GetTempPath(), "hpc-bench-save-" + Guid.NewGuid().ToString("N"));
        try
        {
            double[] D(string dir, string name) => Npy.Read(Path.Combine(dir, name + ".npy")).ToDoubleArray();
            long[] I(string dir, string name) => Npy.Read(Path.Combine(dir, name + ".npy")).ToInt64Array();
            foreach (string op in new[] { "fit-iteration", "score", "decode", "posteriors" })
            {
                string dir = Path.Combine(root, "gaussian-" + op);
                var (code, _, err) = Run("bench", "hmm", "--states", "3", "--dims", "2", "--length", "120", "--sequences", "4", "--op", op,
                                         "--implementation", "log", "--repeats", "1", "--warmup", "0", "--save", dir);
                Assert.True(code == 0, err);
                Assert.Equal(new long[] { 120, 2 }, Npy.Read(Path.Combine(dir, "x.npy")).Shape);
                Assert.Equal(new long[] { 3, 2 }, Npy.Read(Path.Combine(dir, "covars.npy")).Shape);
                var x = D(dir, "x");
                int[] lengths = I(dir, "lengths").Select(v => (int)v).ToArray();
                Assert.Equal(new[] { 30, 30, 30, 30 }, lengths);
                var m = new GaussianHmm(3, CovarianceType.Diag, 2)
                {
                    Startprob = D(dir, "startprob"), Transmat = D(dir, "transmat"), Means = D(dir, "means"), Covars = D(dir, "covars"),
                    InitParams = "", NIter = 1, Implementation = HmmImplementation.Log,
                };
                switch (op)
                {
                    case "score": Assert.Equal(D(dir, "score")[0], m.Score(x, lengths)); break;
                    case "posteriors": Assert.Equal(D(dir, "posteriors"), m.PredictProba(x, lengths)); break;
                    case "decode":
                        var (lp, states) = m.Decode(x, lengths);
                        Assert.Equal(D(dir, "decode_logprob")[0], lp);
                        Assert.Equal(I(dir, "decode_path"), states.Select(v => (long)v).ToArray());
                        break;
                    default:
                        m.Fit(x, 2, lengths);
                        Assert.Equal(D(dir, "fit_loglik")[0], m.Monitor.History[^1]);
                        Assert.Equal(D(dir, "fitted_startprob"), m.Startprob!);
                        Assert.Equal(D(dir, "fitted_transmat"), m.Transmat!);
                        Assert.Equal(D(dir, "fitted_means"), m.Means!);
                        Assert.Equal(D(dir, "fitted_covars"), m.Covars!);
                        Assert.NotEqual(D(dir, "startprob"), m.Startprob!);  // one EM iteration moved it
                        break;
                }
            }
            string cdir = Path.Combine(root, "categorical");
            var c = Run("bench", "hmm", "--emission", "categorical", "--states", "2", "--dims", "4", "--length", "100", "--op", "fit-iteration",
                        "--repeats", "1", "--warmup", "0", "--save", cdir);
            Assert.True(c.Code == 0, c.Err);
            var sym = I(cdir, "x");
            Assert.Equal(new long[] { 100, 1 }, Npy.Read(Path.Combine(cdir, "x.npy")).Shape);
            Assert.All(sym, v => Assert.InRange(v, 0, 3));
            var cm = new CategoricalHmm(2, 4) { Startprob = D(cdir, "startprob"), Transmat = D(cdir, "transmat"), Emissionprob = D(cdir, "emissionprob"), InitParams = "", NIter = 1, Implementation = HmmImplementation.Scaling };  // the CLI's default
            cm.Fit(sym.Select(v => (int)v).ToArray(), new[] { 100 });
            Assert.Equal(D(cdir, "fitted_emissionprob"), cm.Emissionprob!);
            Assert.Equal(D(cdir, "fit_loglik")[0], cm.Monitor.History[^1]);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, true);
        }
    }

    /// A --save path that cannot be a folder (here an existing file) is a usage error naming the option and the path,
    /// not an exception out of the CLI; so is an output path that cannot be written (here a folder).
    [Fact]
    public void UnwritableOutputPathsAreUsageErrors()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hpc-bench-bad-save-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "a-file");
            File.WriteAllText(file, "");
            var r = Run("bench", "hmm", "--states", "3", "--length", "60", "--sequences", "3", "--op", "score", "--repeats", "1", "--warmup", "0", "--save", file);
            Assert.Equal(2, r.Code);
            Assert.Contains($"--save {file}: expected a folder that can be created or written", r.Err);
            Assert.Equal("", r.Out);

            string x = Path.Combine(dir, "x.npy");
            Npy.Write<double>(x, new double[] { 0.1, 0.2, 0.3, 1.1, 1.2, 1.3 }, 6, 1);
            var fit = Run("hmm", "fit", "--emission", "gaussian", "--states", "2", "--input", x, "--iterations", "2", "--model-out", Path.Combine(dir, "m.json"));
            Assert.True(fit.Code == 0, fit.Err);
            var decode = Run("hmm", "decode", "--model", Path.Combine(dir, "m.json"), "--input", x, "--output", dir);
            Assert.Equal(2, decode.Code);
            Assert.StartsWith("hpc: error: ", decode.Err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void BadSizesAreUsageErrors()
    {
        var r = Run("bench", "rnn", "--cell", "lstm", "--batch", "0", "--seq", "3", "--input", "4", "--hidden", "5");
        Assert.Equal(2, r.Code);
        Assert.Contains("--batch: expected > 0, got 0", r.Err);
        r = Run("bench", "hmm", "--states", "3", "--length", "100", "--sequences", "3");
        Assert.Equal(2, r.Code);
        Assert.Contains("--length: expected a multiple of --sequences (3), got 100", r.Err);
        Assert.Equal(2, Run("bench", "rnn", "--cell", "lstm", "--batch", "1", "--seq", "1", "--input", "1", "--hidden", "1", "--repeats", "0").Code);
    }
}
