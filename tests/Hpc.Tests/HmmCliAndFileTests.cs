using Hpc.Hmm;
using Hpc.IO;
using Xunit;

namespace Hpc.Tests;

/// <summary>hpc hmm fit/score/decode/posteriors on the hmmlearn cases, model files, and bad input.</summary>
public class HmmCliAndFileTests
{
    private const double Tolerance = 1e-8;

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static (string Dir, string X, string L, string M) Stage(HmmReference r)
    {
        string dir = TestData.TempDir(), x = Path.Combine(dir, "x.npy"), l = Path.Combine(dir, "lengths.npy"), m = Path.Combine(dir, "model.json");
        if (r.Categorical) Npy.Write<long>(x, r.Symbols.Select(v => (long)v).ToArray(), r.Symbols.Length, 1);
        else Npy.Write<double>(x, r.X, r.X.Length / r.D, r.D);
        Npy.Write<long>(l, r.Lengths.Select(v => (long)v).ToArray(), r.Lengths.Length);
        HmmModelFile.Save(m, r.Model());
        return (dir, x, l, m);
    }

    [Theory]
    [MemberData(nameof(HmmReferenceTests.Cases), MemberType = typeof(HmmReferenceTests))]
    public void TheCliReproducesHmmlearn(string file)
    {
        var r = new HmmReference(TestData.Path("hmm", file));
        var (dir, x, l, m) = Stage(r);
        string s = Path.Combine(dir, "s.npy"), p = Path.Combine(dir, "p.npy"), g = Path.Combine(dir, "g.npy"), m1 = Path.Combine(dir, "m1.json");

        var score = Run("hmm", "score", "--model", m, "--input", x, "--lengths", l, "--output", s);
        Assert.True(score.Code == 0, score.Err);
        Assert.True(Num.MaxRel<double>([double.Parse(score.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture)], [r.Scalar("outputs", "score")]) <= Tolerance);
        Assert.True(Num.MaxRel<double>(Npy.Read(s).ToDoubleArray(), r.Get("outputs", "score_per_sequence")) <= Tolerance);

        var scaled = Run("hmm", "score", "--model", m, "--input", x, "--lengths", l, "--implementation", "scaling");
        Assert.True(Num.MaxRel<double>([double.Parse(scaled.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture)], [r.Scalar("outputs", "score_scaling")]) <= Tolerance);

        var decode = Run("hmm", "decode", "--model", m, "--input", x, "--lengths", l, "--output", p);
        Assert.True(decode.Code == 0, decode.Err);
        Assert.True(Num.MaxRel<double>([double.Parse(decode.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture)], [r.Scalar("outputs", "viterbi_logprob")]) <= Tolerance);
        Assert.Equal(r.Get("outputs", "viterbi_path").Select(v => (long)v), Npy.Read(p).ToInt64Array());

        var post = Run("hmm", "posteriors", "--model", m, "--input", x, "--lengths", l, "--output", g);
        Assert.True(post.Code == 0, post.Err);
        var gamma = Npy.Read(g);
        Assert.Equal(new long[] { r.X.Length / (r.Categorical ? 1 : r.D), r.K }, gamma.Shape);
        Assert.True(Num.MaxRel<double>(gamma.ToDoubleArray(), r.Get("outputs", "posteriors")) <= Tolerance);

        var fit = Run("hmm", "fit", "--init-model", m, "--input", x, "--lengths", l, "--iterations", "1", "--model-out", m1);
        Assert.True(fit.Code == 0, fit.Err);
        Assert.Contains("iterations: 1", fit.Out);
        var fitted = HmmModelFile.Load(m1);
        double[] start = fitted is GaussianHmm fg ? fg.Startprob! : ((CategoricalHmm)fitted).Startprob!;
        double[] trans = fitted is GaussianHmm fg2 ? fg2.Transmat! : ((CategoricalHmm)fitted).Transmat!;
        Assert.True(Num.MaxRel<double>(start, r.Get("em_one_iter", "startprob")) <= Tolerance, "startprob");
        Assert.True(Num.MaxRel<double>(trans, r.Get("em_one_iter", "transmat")) <= Tolerance, "transmat");
        if (fitted is GaussianHmm gh)
        {
            Assert.True(Num.MaxRel<double>(gh.Means!, r.Get("em_one_iter", "means")) <= Tolerance, "means");
            Assert.True(Num.MaxRel<double>(gh.Covars!, r.Get("em_one_iter", "covars")) <= Tolerance, "covars");
        }
        else Assert.True(Num.MaxRel<double>(((CategoricalHmm)fitted).Emissionprob!, r.Get("em_one_iter", "emissionprob")) <= Tolerance, "emissionprob");
    }

    [Fact]
    public void FitFromScratchWritesAModelThatScores()
    {
        var r = new HmmReference(TestData.Path("hmm", "gauss_diag_K3_D2_len1_17_40.json"));
        var (dir, x, l, _) = Stage(r);
        string m = Path.Combine(dir, "fit.json");
        var fit = Run("hmm", "fit", "--emission", "gaussian", "--covariance-type", "full", "--states", "3", "--input", x, "--lengths", l, "--seed", "4", "--iterations", "20", "--model-out", m);
        Assert.True(fit.Code == 0, fit.Err);
        var model = (GaussianHmm)HmmModelFile.Load(m);
        Assert.Equal(CovarianceType.Full, model.CovarianceType);
        var again = Run("hmm", "fit", "--emission", "gaussian", "--covariance-type", "full", "--states", "3", "--input", x, "--lengths", l, "--seed", "4", "--iterations", "20", "--model-out", m + "2");
        Assert.Equal(File.ReadAllText(m), File.ReadAllText(m + "2"));  // deterministic for a seed
        var score = Run("hmm", "score", "--model", m, "--input", x, "--lengths", l);
        Assert.Equal(0, score.Code);
        Assert.True(double.Parse(score.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture) > r.Scalar("outputs", "score"), "EM from k-means beats the reference parameters on their own sample");
    }

    [Fact]
    public void ModelFilesRoundTripBitExactly()
    {
        string dir = TestData.TempDir();
        foreach (string file in Directory.GetFiles(TestData.Path("hmm"), "*.json"))
        {
            var r = new HmmReference(file);
            object model = r.Model();
            string p = Path.Combine(dir, Path.GetFileName(file));
            HmmModelFile.Save(p, model);
            object back = HmmModelFile.Load(p);
            if (model is GaussianHmm g)
            {
                var b = (GaussianHmm)back;
                Assert.Equal(g.CovarianceType, b.CovarianceType);
                Assert.Equal(g.Means!, b.Means!);
                Assert.Equal(g.Covars!, b.Covars!);
                Assert.Equal((g.MinCovar, g.CovarsPrior, g.CovarsWeight, g.MeansPrior, g.MeansWeight), (b.MinCovar, b.CovarsPrior, b.CovarsWeight, b.MeansPrior, b.MeansWeight));
                Assert.Equal(g.Transmat!, b.Transmat!);
            }
            else
            {
                var c = (CategoricalHmm)model;
                var b = (CategoricalHmm)back;
                Assert.Equal(c.Emissionprob!, b.Emissionprob!);
                Assert.Equal(c.Startprob!, b.Startprob!);
            }
        }
        // Values that need all 17 digits survive too.
        var odd = new GaussianHmm(2, CovarianceType.Spherical, 1) { Startprob = [0.1 + 0.2, 1 - (0.1 + 0.2)], Transmat = [1 / 3.0, 2 / 3.0, 0.5, 0.5] };
        odd.Means = [Math.PI, -Math.E * 1e-300];
        odd.Covars = [1e-3 + 1e-19, 7.0 / 3];
        string q = Path.Combine(dir, "odd.json");
        HmmModelFile.Save(q, odd);
        var ob = (GaussianHmm)HmmModelFile.Load(q);
        Assert.Equal(odd.Means!, ob.Means!);
        Assert.Equal(odd.Covars!, ob.Covars!);
        Assert.Equal(odd.Startprob!, ob.Startprob!);
    }

    [Fact]
    public void MissingHyperParametersTakeHmmlearnDefaults()
    {
        string p = Path.Combine(TestData.TempDir(), "m.json");
        File.WriteAllText(p, """{"emission":"gaussian","n_components":1,"n_features":1,"startprob":[1],"transmat":[[1]],"means":[[0]],"covars":[[2]]}""");
        var g = (GaussianHmm)HmmModelFile.Load(p);
        Assert.Equal(CovarianceType.Diag, g.CovarianceType);
        Assert.Equal((1e-3, 1.0, 1.0, 0.0, 0.0, 1e-2, 1.0), (g.MinCovar, g.StartprobPrior, g.TransmatPrior, g.MeansPrior, g.MeansWeight, g.CovarsPrior, g.CovarsWeight));
    }

    [Fact]
    public void BadModelFilesNameTheFieldExpectedAndActual()
    {
        string dir = TestData.TempDir();
        string Write(string json) { string p = Path.Combine(dir, Guid.NewGuid() + ".json"); File.WriteAllText(p, json); return p; }
        const string ok = "\"emission\":\"gaussian\",\"n_components\":2,\"n_features\":1,\"startprob\":[0.5,0.5],\"means\":[[0],[1]],\"covars\":[[1],[1]]";
        var e = Assert.Throws<InvalidDataException>(() => HmmModelFile.Load(Write("{" + ok + ""","transmat":[[0.5,0.5]]}""")));
        Assert.Contains("'transmat': expected numbers of shape [2, 2], got [1, 2]", e.Message);
        e = Assert.Throws<InvalidDataException>(() => HmmModelFile.Load(Write("{" + ok + ""","transmat":[[0.5,0.6],[0.5,0.5]]}""")));
        Assert.Contains("Transmat row 0: expected to sum to 1, got 1.1", e.Message);
        e = Assert.Throws<InvalidDataException>(() => HmmModelFile.Load(Write("""{"emission":"gaussian","n_components":1,"n_features":1,"startprob":[1],"transmat":[[1]],"means":[[0]],"covars":[[-1]]}""")));
        Assert.Contains("covars[0]: expected a variance > 0", e.Message);
        e = Assert.Throws<InvalidDataException>(() => HmmModelFile.Load(Write("""{"emission":"poisson","n_components":1,"n_features":1}""")));
        Assert.Contains("'emission': expected \"gaussian\" or \"categorical\", got \"poisson\"", e.Message);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => HmmModelFile.Load(Write("{"))).Message);
    }

    private static void AssertUsageError((int Code, string Out, string Err) r, params string[] fragments)
    {
        Assert.Equal(2, r.Code);
        string line = r.Err.TrimEnd();
        Assert.DoesNotContain('\n', line);
        foreach (string f in fragments) Assert.Contains(f, line);
    }

    [Fact]
    public void CliBadInputIsOneLineWithExitCode2()
    {
        var r = new HmmReference(TestData.Path("hmm", "gauss_diag_K3_D2_len1_17_40.json"));
        var (dir, x, l, m) = Stage(r);
        string bad = Path.Combine(dir, "bad_lengths.npy");
        Npy.Write<long>(bad, [10L, 10], 2);
        AssertUsageError(Run("hmm", "score", "--model", m, "--input", x, "--lengths", bad), "lengths: expected to sum to the number of rows of x (58), got 20");
        string x3 = Path.Combine(dir, "x3.npy");
        Npy.Write<double>(x3, new double[12], 4, 3);
        AssertUsageError(Run("hmm", "score", "--model", m, "--input", x3), "x3.npy", "X: expected shape [N, 2], got [4, 3]");
        var cat = new HmmReference(TestData.Path("hmm", "cat_K3_M4_len1_20_33.json"));
        var (_, cx, _, cm) = Stage(cat);
        string sym = Path.Combine(dir, "sym.npy");
        Npy.Write<long>(sym, [0L, 1, 7], 3);
        AssertUsageError(Run("hmm", "decode", "--model", cm, "--input", sym, "--output", Path.Combine(dir, "p.npy")), "sym.npy", "X[2]: expected a symbol in [0, 4), got 7");
        AssertUsageError(Run("hmm", "posteriors", "--model", cm, "--input", x, "--output", Path.Combine(dir, "g.npy")), "x.npy", "expected integer symbols");
        AssertUsageError(Run("hmm", "fit", "--input", x, "--model-out", Path.Combine(dir, "o.json")), "--emission is required");
        AssertUsageError(Run("hmm", "fit", "--init-model", m, "--states", "4", "--input", x, "--model-out", Path.Combine(dir, "o.json")), "--states says 4, the model has 3");
        AssertUsageError(Run("hmm", "score", "--model", Path.Combine(dir, "missing.json"), "--input", cx), "missing.json");
    }
}
