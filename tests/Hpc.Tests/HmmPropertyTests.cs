using FsCheck;
using FsCheck.Fluent;
using Hpc.Hmm;
using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

/// <summary>A random HMM (Gaussian of every covariance type, or categorical) with random data, from a seed.</summary>
public sealed record HmmCase(string Emission, int K, int D, int[] Lengths, int Seed, bool LeftRight)
{
    public override string ToString() => $"{Emission} K={K} D={D} lengths=[{string.Join(",", Lengths)}] leftRight={LeftRight} seed={Seed}";
    public int N => Lengths.Sum();

    public static Gen<HmmCase> Generator(int maxK, int maxT, int maxSeqs) =>
        from e in Gen.Elements("spherical", "diag", "full", "tied", "categorical")
        from k in Gen.Choose(1, maxK)
        from d in Gen.Choose(1, 3)
        from s in Gen.Choose(1, maxSeqs)
        from lens in Gen.ArrayOf(Gen.Choose(1, maxT), s)
        from lr in Gen.Elements(false, false, true)
        from seed in Gen.Choose(0, int.MaxValue)
        select new HmmCase(e, k, e == "categorical" ? d + 1 : d, lens, seed, lr);

    private static double[] Stochastic(Random rng, int rows, int cols, bool upper)
    {
        var a = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++) s += a[r * cols + c] = upper && c < r ? 0 : 0.1 + rng.NextDouble();
            for (int c = 0; c < cols; c++) a[r * cols + c] /= s;
        }
        return a;
    }

    public object Model()
    {
        var rng = new Random(Seed);
        double[] start = LeftRight ? [1.0, .. new double[K - 1]] : Stochastic(rng, 1, K, false);
        double[] trans = Stochastic(rng, K, K, LeftRight);
        if (Emission == "categorical")
            return new CategoricalHmm(K, D) { Startprob = start, Transmat = trans, Emissionprob = Stochastic(rng, K, D, false) };
        var type = Enum.Parse<CovarianceType>(Emission, true);
        var g = new GaussianHmm(K, type, D) { Startprob = start, Transmat = trans };
        g.Means = Enumerable.Range(0, K * D).Select(_ => 3 * (2 * rng.NextDouble() - 1)).ToArray();
        double[] Spd()
        {
            var a = Enumerable.Range(0, D * D).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var m = new double[D * D];
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++)
                {
                    for (int q = 0; q < D; q++) m[i * D + j] += a[i * D + q] * a[j * D + q];
                    if (i == j) m[i * D + j] += 0.3;
                }
            return m;
        }
        g.Covars = type switch
        {
            CovarianceType.Spherical => Enumerable.Range(0, K).Select(_ => 0.3 + 1.7 * rng.NextDouble()).ToArray(),
            CovarianceType.Diag => Enumerable.Range(0, K * D).Select(_ => 0.3 + 1.7 * rng.NextDouble()).ToArray(),
            CovarianceType.Full => Enumerable.Range(0, K).SelectMany(_ => Spd()).ToArray(),
            _ => Spd(),
        };
        return g;
    }

    public double[] GaussianData() { var rng = new Random(Seed + 1); return Enumerable.Range(0, N * D).Select(_ => 4 * (2 * rng.NextDouble() - 1)).ToArray(); }
    public int[] Symbols() { var rng = new Random(Seed + 1); return Enumerable.Range(0, N).Select(_ => rng.Next(D)).ToArray(); }
}

public class HmmPropertyTests(ITestOutputHelper output)
{
    private void Report(string property, int cases)
    {
        string line = $"{property}: {cases} random cases checked";
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static int Check(Gen<HmmCase> gen, int cases, Action<HmmCase> body)
    {
        int count = 0;
        Prop.ForAll(gen.ToArbitrary(), (HmmCase c) =>
        {
            count++;
            try { body(c); }
            catch (Exception e) { throw new Exception($"Failed for case {c}: {e.Message}", e); }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true));
        return count;
    }

    // ---- independent reference: emission densities in C# and enumeration of every state path ----
    private static double[] ReferenceLogEmission(HmmCase c, object model)
    {
        int n = c.N, k = c.K, d = c.D;
        var lb = new double[n * k];
        if (model is CategoricalHmm cat)
        {
            var x = c.Symbols();
            for (int r = 0; r < n; r++) for (int s = 0; s < k; s++) lb[r * k + s] = Math.Log(cat.Emissionprob![s * d + x[r]]);
            return lb;
        }
        var g = (GaussianHmm)model;
        var xs = c.GaussianData();
        for (int s = 0; s < k; s++)
        {
            var cov = new double[d * d];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    cov[i * d + j] = g.CovarianceType switch
                    {
                        CovarianceType.Spherical => i == j ? g.Covars![s] : 0,
                        CovarianceType.Diag => i == j ? g.Covars![s * d + i] : 0,
                        CovarianceType.Full => g.Covars![s * d * d + i * d + j],
                        _ => g.Covars![i * d + j],
                    };
            var l = Cholesky.Factor(cov, d);
            double logdet = 0;
            for (int i = 0; i < d; i++) logdet += 2 * Math.Log(l[i * d + i]);
            for (int r = 0; r < n; r++)
            {
                var z = new double[d];
                for (int i = 0; i < d; i++)
                {
                    double v = xs[r * d + i] - g.Means![s * d + i];
                    for (int j = 0; j < i; j++) v -= l[i * d + j] * z[j];
                    z[i] = v / l[i * d + i];
                }
                lb[r * k + s] = -0.5 * (d * Math.Log(2 * Math.PI) + logdet + z.Sum(v => v * v));
            }
        }
        return lb;
    }

    private static (double[] Ll, double[] Post, double[] BestLp, int[] Best) Enumerate(HmmCase c, double[] start, double[] trans, double[] lb)
    {
        int k = c.K, off = 0;
        var ll = new List<double>();
        var bestLp = new List<double>();
        var post = new double[c.N * k];
        var best = new int[c.N];
        foreach (int T in c.Lengths)
        {
            var path = new int[T];
            double total = 0, top = double.NegativeInfinity;
            var seqPost = new double[T * k];
            while (true)
            {
                double lp = Math.Log(start[path[0]]) + lb[off * k + path[0]];
                for (int t = 1; t < T; t++) lp += Math.Log(trans[path[t - 1] * k + path[t]]) + lb[(off + t) * k + path[t]];
                double p = Math.Exp(lp);
                total += p;
                for (int t = 0; t < T; t++) seqPost[t * k + path[t]] += p;
                if (lp > top) { top = lp; for (int t = 0; t < T; t++) best[off + t] = path[t]; }
                int q = T - 1;
                while (q >= 0 && ++path[q] == k) path[q--] = 0;
                if (q < 0) break;
            }
            ll.Add(Math.Log(total));
            bestLp.Add(top);
            for (int i = 0; i < T * k; i++) post[off * k + i] = seqPost[i] / total;
            off += T;
        }
        return (ll.ToArray(), post, bestLp.ToArray(), best);
    }

    private static void Dispatch(HmmCase c, Action<HiddenMarkovModel<double>, double[]> gaussian, Action<HiddenMarkovModel<int>, int[]> categorical)
    {
        var m = c.Model();
        if (m is GaussianHmm g) gaussian(g, c.GaussianData());
        else categorical((CategoricalHmm)m, c.Symbols());
    }

    private static double PathLogProb(HmmCase c, double[] start, double[] trans, double[] lb, int[] path)
    {
        int k = c.K, off = 0;
        double total = 0;
        foreach (int len in c.Lengths)
        {
            total += Math.Log(start[path[off]]) + lb[off * k + path[off]];
            for (int t = 1; t < len; t++) total += Math.Log(trans[path[off + t - 1] * k + path[off + t]]) + lb[(off + t) * k + path[off + t]];
            off += len;
        }
        return total;
    }

    [Fact]
    public void LikelihoodPosteriorsAndViterbiEqualEnumerationOverAllPaths()
    {
        int ties = 0;
        int cases = Check(HmmCase.Generator(maxK: 3, maxT: 6, maxSeqs: 3), 200, c =>
        {
            var model = c.Model();
            var lb = ReferenceLogEmission(c, model);
            void Verify<T>(HiddenMarkovModel<T> m, T[] x) where T : unmanaged
            {
                var (ll, post, bestLp, best) = Enumerate(c, m.Startprob!, m.Transmat!, lb);
                Assert.True(Num.MaxRel<double>(m.EmissionLogLikelihood(x), lb) <= 1e-10, "emission log-densities");
                foreach (var impl in new[] { HmmImplementation.Log, HmmImplementation.Scaling })
                {
                    m.Implementation = impl;
                    Assert.True(Num.MaxRel<double>(m.ScorePerSequence(x, c.Lengths), ll) <= 1e-10, $"likelihood ({impl})");
                    Assert.True(Num.MaxRel<double>(m.PredictProba(x, c.Lengths), post) <= 1e-10, $"posteriors ({impl})");
                }
                var (vlp, path) = m.Decode(x, c.Lengths);
                Assert.True(Math.Abs(vlp - bestLp.Sum()) <= 1e-10 * Math.Max(1, Math.Abs(vlp)), "Viterbi log-prob");
                // Distinct paths can tie exactly (the same factors in another order, common with categorical
                // emissions); then rounding picks one. The decoded path must be a best path.
                double pathLp = PathLogProb(c, m.Startprob!, m.Transmat!, lb, path);
                Assert.True(Math.Abs(pathLp - bestLp.Sum()) <= 1e-10 * Math.Max(1, Math.Abs(pathLp)), "the decoded path is a most likely path");
                if (!best.SequenceEqual(path)) ties++;
            }
            if (model is GaussianHmm g) Verify(g, c.GaussianData()); else Verify((CategoricalHmm)model, c.Symbols());
        });
        Report(nameof(LikelihoodPosteriorsAndViterbiEqualEnumerationOverAllPaths), cases);
        Console.WriteLine($"  {ties} cases decoded an equally likely path other than the first one enumerated (exact ties)");
    }

    [Fact]
    public void ForwardAndBackwardGiveTheSameLikelihoodAndPosteriorsSumToOne()
    {
        int cases = Check(HmmCase.Generator(maxK: 8, maxT: 40, maxSeqs: 5), 150, c =>
        {
            void Verify<T>(HiddenMarkovModel<T> m, T[] x) where T : unmanaged
            {
                foreach (var impl in new[] { HmmImplementation.Log, HmmImplementation.Scaling })
                {
                    m.Implementation = impl;
                    var f = m.ScorePerSequence(x, c.Lengths);
                    var b = m.BackwardScorePerSequence(x, c.Lengths);
                    Assert.True(Num.MaxRel<double>(b, f) <= 1e-10, $"backward vs forward likelihood ({impl})");
                    var post = m.PredictProba(x, c.Lengths);
                    for (int r = 0; r < c.N; r++)
                        Assert.True(Math.Abs(post.AsSpan(r * c.K, c.K).ToArray().Sum() - 1) <= 1e-12, $"posteriors of row {r} sum to 1");
                }
            }
            Dispatch(c, Verify, Verify);
        });
        Report(nameof(ForwardAndBackwardGiveTheSameLikelihoodAndPosteriorsSumToOne), cases);
    }

    [Fact]
    public void ScaledAndLogPathsAgreeAndABatchEqualsItsSequencesOneAtATime()
    {
        int cases = Check(HmmCase.Generator(maxK: 8, maxT: 60, maxSeqs: 6), 150, c =>
        {
            void Verify<T>(HiddenMarkovModel<T> m, T[] x) where T : unmanaged
            {
                m.Implementation = HmmImplementation.Log;
                var (llLog, postLog) = (m.ScorePerSequence(x, c.Lengths), m.PredictProba(x, c.Lengths));
                m.Implementation = HmmImplementation.Scaling;
                var (llSc, postSc) = (m.ScorePerSequence(x, c.Lengths), m.PredictProba(x, c.Lengths));
                Assert.True(Num.MaxRel<double>(llSc, llLog) <= 1e-10, "scaled vs log likelihood");
                Assert.True(Num.MaxRel<double>(postSc, postLog) <= 1e-9, "scaled vs log posteriors");
                var (_, path) = m.Decode(x, c.Lengths);
                int off = 0, w = m.ValuesPerRow;
                for (int s = 0; s < c.Lengths.Length; s++)
                {
                    int len = c.Lengths[s];
                    var xs = x.AsSpan(off * w, len * w);
                    Assert.True(Math.Abs(m.Score(xs) - llSc[s]) <= 1e-12 * Math.Max(1, Math.Abs(llSc[s])), $"sequence {s} score alone");
                    Assert.True(Num.MaxRel<double>(m.PredictProba(xs), postSc.AsSpan(off * c.K, len * c.K).ToArray()) <= 1e-12, $"sequence {s} posteriors alone");
                    Assert.Equal(path.AsSpan(off, len).ToArray(), m.Predict(xs));
                    off += len;
                }
            }
            Dispatch(c, Verify, Verify);
        });
        Report(nameof(ScaledAndLogPathsAgreeAndABatchEqualsItsSequencesOneAtATime), cases);
    }

    /// <summary>
    /// Each EM iteration, run one at a time, does not lower the likelihood (beyond rounding). An iteration that had to
    /// regularise a singular covariance (adding min_covar, reported in FitWarnings) is a deliberate departure from the
    /// EM update and is excluded; the test counts them.
    /// </summary>
    [Fact]
    public void AnEmIterationNeverLowersTheLikelihood()
    {
        int steps = 0, floored = 0;
        int cases = Check(HmmCase.Generator(maxK: 5, maxT: 50, maxSeqs: 4), 80, c =>
        {
            void Verify<T>(HiddenMarkovModel<T> m, T[] x) where T : unmanaged
            {
                // Without priors EM maximises the likelihood itself (with them, the posterior).
                if (m is GaussianHmm g) { g.CovarsPrior = 0; g.MinCovar = 1e-6; }
                m.InitParams = "";
                m.NIter = 1;
                double before = m.Score(x, c.Lengths);
                for (int i = 0; i < 6; i++)
                {
                    m.Fit(x, c.Lengths);
                    double after = m.Score(x, c.Lengths);
                    Assert.True(Math.Abs(m.Monitor.History[0] - before) <= 1e-10 * Math.Abs(before), "the monitor records the E-step likelihood");
                    if (m.FitWarnings.Any(w => w.Contains("min_covar"))) floored++;
                    else
                    {
                        steps++;
                        // Rounding allowance relative to the likelihood, with a floor of 1e-9 for a likelihood of 0 (a
                        // model that already explains a short sequence exactly: seen as -2.2e-16 < 0).
                        Assert.True(after >= before - 1e-9 * Math.Max(1.0, Math.Abs(before)), $"iteration {i}: {after:R} < {before:R}");
                    }
                    before = after;
                }
            }
            Dispatch(c, Verify, Verify);
        });
        Report(nameof(AnEmIterationNeverLowersTheLikelihood), cases);
        Console.WriteLine($"  {steps} EM steps checked, {floored} steps with a regularised covariance excluded");
        Assert.True(steps > 5 * floored, $"too many floored steps ({floored}) for the property to mean much ({steps} checked)");
    }

    [Fact]
    public void SamplingAndRefittingRecoversAGaussianModel()
    {
        // Three well-separated states; 20 sequences of 1,000 steps. Tolerances: means within 0.05, variances within
        // 10 %, transition probabilities within 0.02 (a few standard errors at this sample size).
        var truth = new GaussianHmm(3, CovarianceType.Diag, 2)
        {
            Startprob = [0.6, 0.3, 0.1],
            Transmat = [0.90, 0.07, 0.03, 0.05, 0.90, 0.05, 0.02, 0.08, 0.90],
            Means = [-4, 0, 0, 4, 4, 0],
            Covars = [0.5, 1.0, 1.0, 0.5, 0.8, 0.8],
        };
        var xs = new List<double>();
        for (int s = 0; s < 20; s++) xs.AddRange(truth.Sample(1000, (ulong)(100 + s)).X);
        var lengths = Enumerable.Repeat(1000, 20).ToArray();
        var fit = new GaussianHmm(3, CovarianceType.Diag) { RandomState = 7, NIter = 100, Tol = 1e-4 };
        fit.Fit(xs.ToArray(), 2, lengths);
        // Match states by their first mean coordinate.
        int[] order = Enumerable.Range(0, 3).OrderBy(s => fit.Means![s * 2]).ToArray();
        for (int s = 0; s < 3; s++)
        {
            int f = order[s];
            for (int j = 0; j < 2; j++)
            {
                Assert.InRange(fit.Means![f * 2 + j], truth.Means![s * 2 + j] - 0.05, truth.Means![s * 2 + j] + 0.05);
                Assert.InRange(fit.Covars![f * 2 + j] / truth.Covars![s * 2 + j], 0.9, 1.1);
            }
            for (int t = 0; t < 3; t++)
                Assert.InRange(fit.Transmat![f * 3 + order[t]], truth.Transmat![s * 3 + t] - 0.02, truth.Transmat![s * 3 + t] + 0.02);
        }
        Assert.True(fit.Monitor.Converged);
    }

    [Fact]
    public void SamplingAndRefittingRecoversACategoricalModel()
    {
        var truth = new CategoricalHmm(2, 3)
        {
            Startprob = [0.5, 0.5],
            Transmat = [0.9, 0.1, 0.2, 0.8],
            Emissionprob = [0.8, 0.15, 0.05, 0.05, 0.15, 0.8],
        };
        var x = truth.Sample(40000, 3).X;
        var fit = new CategoricalHmm(2, 3) { RandomState = 1, NIter = 200, Tol = 1e-6 };
        fit.Fit(x);
        int a = fit.Emissionprob![0] > fit.Emissionprob![3] ? 0 : 1;  // the state that favours symbol 0
        for (int m = 0; m < 3; m++)
        {
            Assert.InRange(fit.Emissionprob![a * 3 + m], truth.Emissionprob![m] - 0.03, truth.Emissionprob![m] + 0.03);
            Assert.InRange(fit.Emissionprob![(1 - a) * 3 + m], truth.Emissionprob![3 + m] - 0.03, truth.Emissionprob![3 + m] + 0.03);
        }
        Assert.InRange(fit.Transmat![a * 2 + a], 0.87, 0.93);
        Assert.InRange(fit.Transmat![(1 - a) * 2 + (1 - a)], 0.76, 0.84);
    }
}
