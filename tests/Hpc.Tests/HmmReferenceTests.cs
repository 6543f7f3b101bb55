using Hpc.Hmm;
using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

/// <summary>Agreement with hmmlearn 0.3.3 (../shared/refs/hmm) to 1e-8 relative (max-norm per array).</summary>
public class HmmReferenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-8;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(TestData.Path("hmm"), "*.json").OrderBy(f => f)) data.Add(Path.GetFileName(f));
        return data;
    }

    private static void Close(string what, double[] actual, double[] expected)
    {
        double err = Num.MaxRel<double>(actual, expected);
        Assert.True(err <= Tolerance, $"{what}: relative error {err:G3} > {Tolerance:G3}");
    }

    private static void Close(string what, double actual, double expected) => Close(what, [actual], [expected]);

    [Fact]
    public void AllFiveSharedCasesArePresent() => Assert.Equal(5, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScorePosteriorsAndViterbiMatchHmmlearn(string file)
    {
        var r = new HmmReference(TestData.Path("hmm", file));
        if (r.Categorical) Check((CategoricalHmm)r.Model(), r.Symbols, r);
        else Check((GaussianHmm)r.Model(), r.X, r);
        output.WriteLine($"{r.Name}: agrees with hmmlearn");
    }

    private static void Check<T>(HiddenMarkovModel<T> m, T[] x, HmmReference r) where T : unmanaged
    {
        int[] lengths = r.Lengths;
        Close("emission log-likelihood", m.EmissionLogLikelihood(x), r.Get("outputs", "emission_loglik"));
        Close("score", m.Score(x, lengths), r.Scalar("outputs", "score"));
        Close("score per sequence", m.ScorePerSequence(x, lengths), r.Get("outputs", "score_per_sequence"));
        var (lp, post) = m.ScoreSamples(x, lengths);
        Close("score_samples log-prob", lp, r.Scalar("outputs", "score_samples_logprob"));
        Close("posteriors", post, r.Get("outputs", "posteriors"));
        var (vlp, path) = m.Decode(x, lengths);
        Close("viterbi log-prob", vlp, r.Scalar("outputs", "viterbi_logprob"));
        Assert.Equal(r.Get("outputs", "viterbi_path").Select(v => (int)v), path);
        int offset = 0, rows = m.ValuesPerRow;
        var perSeq = new List<double>();
        foreach (int len in lengths)
        {
            perSeq.Add(m.Decode(x.AsSpan(offset * rows, len * rows)).LogProb);
            offset += len;
        }
        Close("viterbi log-prob per sequence", perSeq.ToArray(), r.Get("outputs", "viterbi_logprob_per_sequence"));
        m.Implementation = HmmImplementation.Scaling;
        Close("score (scaling)", m.Score(x, lengths), r.Scalar("outputs", "score_scaling"));
        Close("posteriors (scaling)", m.PredictProba(x, lengths), r.Get("outputs", "posteriors"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneEmIterationMatchesHmmlearn(string file)
    {
        var r = new HmmReference(TestData.Path("hmm", file));
        Assert.Equal("", r.Text("em_one_iter", "init_params"));
        if (r.Categorical)
        {
            var m = (CategoricalHmm)r.Model();
            Em(m, r.Symbols, r);
            Close("emissionprob", m.Emissionprob!, r.Get("em_one_iter", "emissionprob"));
            Check(m, r);
        }
        else
        {
            var m = (GaussianHmm)r.Model();
            Em(m, r.X, r);
            Close("means", m.Means!, r.Get("em_one_iter", "means"));
            Close("covars", m.Covars!, r.Get("em_one_iter", "covars"));
            Check(m, r);
        }
    }

    private static void Em<T>(HiddenMarkovModel<T> m, T[] x, HmmReference r) where T : unmanaged
    {
        m.InitParams = "";
        m.Params = r.Text("em_one_iter", "params");
        m.NIter = (int)r.Scalar("em_one_iter", "n_iter");
        m.Fit(x, r.Lengths);
        Assert.Equal((int)r.Scalar("em_one_iter", "em_iters_run"), m.Monitor.Iter);
        Close("log-likelihood of the E-step", m.Monitor.History[0], r.Scalar("em_one_iter", "loglik_estep"));
        Assert.Empty(m.FitWarnings);
    }

    private static void Check<T>(HiddenMarkovModel<T> m, HmmReference r) where T : unmanaged
    {
        Close("startprob", m.Startprob!, r.Get("em_one_iter", "startprob"));
        Close("transmat", m.Transmat!, r.Get("em_one_iter", "transmat"));
    }
}
