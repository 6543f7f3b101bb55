using Hpc.Hmm;
using Xunit;

namespace Hpc.Tests;

/// <summary>
/// GaussianHmm.Fit with spherical or diagonal covariances takes its E-step in one native call
/// (hpc_hmm_gaussian_e_step: the statistics summed inside the forward-backward pass, no posteriors stored). Fitted
/// from the same start, the model equals one fitted through the three calls (densities, forward-backward with the
/// posteriors, statistics) up to the rounding of the statistics' sums: both implementations, small-K kernels (K 3, 8,
/// 16 with the transition statistics in and after the loop, 40) and the general path (K 66), unequal lengths, the
/// covariance prior on, a state that receives no mass (its warning and kept parameters). Also a left-right model whose
/// log-space products underflow (the fallback that E-step and the other calls share).
/// </summary>
public class HmmGaussianEStepTests
{
    private static void Near(double[] want, double[] got, double tol, string name)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tol * Math.Max(1, Math.Abs(want[i])), $"{name}[{i}]: {got[i]} vs {want[i]}");
    }

    /// <summary>
    /// State 0 is the only reachable one (it never leaves); unreachable state 1 explains row 2 about 5e5 nats better.
    /// The log-space passes' shifted products then underflow for state 0 (before kUnderflowLimit rows 0 and 1 came out
    /// with posteriors of 0): every row must be in state 0 and the likelihood that of state 0 alone. The zero
    /// transitions send the scaling implementation to log space as well.
    /// </summary>
    [Theory]
    [InlineData(HmmImplementation.Log)]
    [InlineData(HmmImplementation.Scaling)]
    public void PosteriorsStayInTheOnlyReachableStateWhenAnUnreachableOneFitsFarBetter(HmmImplementation impl)
    {
        var m = new GaussianHmm(2, CovarianceType.Diag, 1)
        {
            Startprob = [1, 0], Transmat = [1, 0, 0.5, 0.5], Means = [0, 1000], Covars = [1, 1], Implementation = impl,
        };
        double[] x = [0, 0.5, 1000, -0.1];
        var post = m.PredictProba(x);
        for (int r = 0; r < x.Length; r++)
        {
            Assert.True(Math.Abs(post[2 * r] - 1) <= 1e-12, $"row {r}: p(state 0) = {post[2 * r]}");
            Assert.True(post[2 * r + 1] <= 1e-12, $"row {r}: p(state 1) = {post[2 * r + 1]}");
        }
        double want = x.Sum(v => -0.5 * Math.Log(2 * Math.PI) - 0.5 * v * v);
        Assert.True(Math.Abs(m.Score(x) - want) <= 1e-12 * Math.Abs(want), $"score {m.Score(x)} vs {want}");
    }

    [Theory]
    [InlineData(3, 2, CovarianceType.Diag, HmmImplementation.Scaling)]
    [InlineData(8, 1, CovarianceType.Diag, HmmImplementation.Scaling)]
    [InlineData(8, 4, CovarianceType.Spherical, HmmImplementation.Log)]
    [InlineData(16, 3, CovarianceType.Diag, HmmImplementation.Log)]
    [InlineData(40, 2, CovarianceType.Diag, HmmImplementation.Scaling)]
    [InlineData(66, 1, CovarianceType.Spherical, HmmImplementation.Scaling)]
    public void FitEqualsTheThreeCallRoute(int k, int d, CovarianceType type, HmmImplementation impl)
    {
        var rng = new Random(k * 7 + d);
        int[] lengths = [700, 1, 350, 2, 900];
        int n = lengths.Sum();
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = (i / d % 40 < 20 ? -1.5 : 1.5) + rng.NextDouble() - 0.5;
        var means = Enumerable.Range(0, k * d).Select(_ => 3 * (rng.NextDouble() - 0.5)).ToArray();
        means[(k - 1) * d] = 1e4;  // a state far from every row: no posterior mass, its parameters kept (a warning)
        double[] covars = Enumerable.Range(0, type == CovarianceType.Spherical ? k : k * d).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        double[] start = HmmTestModels.Stochastic(rng, 1, k), trans = HmmTestModels.Stochastic(rng, k, k);
        GaussianHmm Model(bool oneCall) => new(k, type, d)
        {
            Startprob = (double[])start.Clone(), Transmat = (double[])trans.Clone(), Means = (double[])means.Clone(),
            Covars = (double[])covars.Clone(), InitParams = "", NIter = 4, Tol = double.NegativeInfinity, Implementation = impl,
            CovarsPrior = 0.02, CovarsWeight = 2, OneCallEStep = oneCall,  // no means prior: the far state is left empty
        };
        var want = Model(false);
        want.Fit(x, d, lengths);
        var got = Model(true);
        got.Fit(x, d, lengths);
        Near(want.Means!, got.Means!, 1e-10, "means");
        Near(want.Covars!, got.Covars!, 1e-10, "covars");
        Near(want.Transmat!, got.Transmat!, 1e-12, "transmat");
        Near(want.Startprob!, got.Startprob!, 1e-12, "startprob");
        Assert.Equal(want.Monitor.History.Count, got.Monitor.History.Count);
        Near(want.Monitor.History.ToArray(), got.Monitor.History.ToArray(), 1e-13, "log-likelihood history");
        Assert.Equal(want.FitWarnings, got.FitWarnings);
        Assert.Contains(got.FitWarnings, w => w.StartsWith($"state {k - 1} received no posterior mass"));
        Assert.Equal(means[(k - 1) * d], got.Means![(k - 1) * d]);
    }

    // The one-call E-step's refusals reach Fit as the others' do, and leave the model as it was.
    [Fact]
    public void AnOverflowingDensityFailsTheFitAndKeepsTheModel()
    {
        const int k = 2;
        var m = new GaussianHmm(k, CovarianceType.Diag, 1)
        {
            Startprob = [0.5, 0.5], Transmat = [0.9, 0.1, 0.2, 0.8], Means = [0.5, 1e300], Covars = [1.0, 1e-10], InitParams = "",
        };
        var x = Enumerable.Range(0, 40).Select(i => i < 17 ? -1.0 : 1.0).ToArray();  // from row 17 on: NaN
        var e = Assert.Throws<ArgumentException>(() => m.Fit(x, 1));
        Assert.Contains("x[17]: its Gaussian log-density under state 1 is ", e.Message);
        Assert.Equal([0.5, 1e300], m.Means);
        Assert.Equal([1.0, 1e-10], m.Covars);
    }
}
