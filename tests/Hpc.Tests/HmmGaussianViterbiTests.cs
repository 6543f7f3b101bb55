using Hpc.Hmm;
using Xunit;

namespace Hpc.Tests;

/// <summary>
/// GaussianHmm.Decode runs hpc_hmm_gaussian_viterbi_with_scratch, which computes the densities inside the Viterbi pass
/// where hpc_hmm_gaussian_viterbi_fuses (spherical and diagonal covariances, up to 16 states, 17 to 32 with the AVX2
/// kernels, 33 to 64 with N K >= 1,000,000) and writes them to the [N, K] scratch otherwise.
/// Its path and log-probability equal a plain Viterbi over the model's own emission log-densities
/// (EmissionLogLikelihood) for every covariance type, fused (K 3, 12, 64; K 20 with the AVX2 kernels) or through the
/// scratch (K 40 at N K = 640,000, K 65, full, tied; K 20 with AVX-512 or SSE2).
/// </summary>
public class HmmGaussianViterbiTests
{
    // The first maximum wins, as numpy's argmax and the native kernels.
    private static (double LogProb, int[] Path) PlainViterbi(int k, int[] lengths, double[] lb, double[] start, double[] trans)
    {
        var path = new int[lb.Length / k];
        double total = 0;
        int off = 0;
        foreach (int len in lengths)
        {
            var d = new double[len * k];
            var back = new int[len * k];
            for (int j = 0; j < k; j++) d[j] = Math.Log(start[j]) + lb[off * k + j];
            for (int t = 1; t < len; t++)
                for (int j = 0; j < k; j++)
                {
                    int arg = 0;
                    double best = d[(t - 1) * k] + Math.Log(trans[j]);
                    for (int i = 1; i < k; i++)
                    {
                        double c = d[(t - 1) * k + i] + Math.Log(trans[i * k + j]);
                        if (c > best) { best = c; arg = i; }
                    }
                    d[t * k + j] = best + lb[(off + t) * k + j];
                    back[t * k + j] = arg;
                }
            int s = 0;
            for (int j = 1; j < k; j++) if (d[(len - 1) * k + j] > d[(len - 1) * k + s]) s = j;
            total += d[(len - 1) * k + s];
            for (int t = len - 1; t >= 0; t--)
            {
                path[off + t] = s;
                s = back[t * k + s];
            }
            off += len;
        }
        return (total, path);
    }

    [Theory]
    [InlineData(3, 2, CovarianceType.Diag)]
    [InlineData(12, 1, CovarianceType.Spherical)]
    [InlineData(20, 3, CovarianceType.Diag)]
    [InlineData(40, 2, CovarianceType.Diag)]
    [InlineData(64, 1, CovarianceType.Diag)]
    [InlineData(65, 2, CovarianceType.Spherical)]
    [InlineData(5, 3, CovarianceType.Full)]
    [InlineData(24, 2, CovarianceType.Tied)]
    public void DecodeEqualsAPlainViterbiOverTheEmissionDensities(int k, int d, CovarianceType type)
    {
        var rng = new Random(k * 31 + d);
        int[] lengths = k > 32 ? [9000, 1, 6000, 1000] : [300, 1, 170, 45];  // above 32 states fused from N K = 1,000,000
        int n = lengths.Sum();
        var means = new double[k * d];
        for (int i = 0; i < means.Length; i++) means[i] = 3 * (rng.NextDouble() - 0.5);
        double[] covars = type switch
        {
            CovarianceType.Spherical => Enumerable.Range(0, k).Select(_ => 0.3 + rng.NextDouble()).ToArray(),
            CovarianceType.Diag => Enumerable.Range(0, k * d).Select(_ => 0.3 + rng.NextDouble()).ToArray(),
            _ => Enumerable.Range(0, type == CovarianceType.Full ? k : 1)
                .SelectMany(_ => Enumerable.Range(0, d * d).Select(ij => ij / d == ij % d ? 1.0 + d * 0.3 : 0.1 * ((ij / d + ij % d) % 3 - 1)))
                .ToArray(),
        };
        var m = new GaussianHmm(k, type, d)
        {
            Startprob = HmmTestModels.Stochastic(rng, 1, k), Transmat = HmmTestModels.Stochastic(rng, k, k), Means = means, Covars = covars,
        };
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = 2 * (rng.NextDouble() - 0.5) * 2;
        var (wantLp, wantPath) = PlainViterbi(k, lengths, m.EmissionLogLikelihood(x), m.Startprob!, m.Transmat!);
        var (lp, path) = m.Decode(x, lengths);
        Assert.Equal(wantPath, path);
        Assert.True(Math.Abs(lp - wantLp) <= 1e-12 * Math.Abs(wantLp), $"log-probability {lp} vs {wantLp}");
        var states = new int[n];
        Assert.Equal(lp, m.Decode(x, lengths, states));
        Assert.Equal(path, states);
    }

    // A density that overflows to NaN (a mean over a variance beyond the largest double: the constant +inf, the cross
    // term -inf) is refused, the error naming the row and the state, whether the densities are computed inside the
    // Viterbi pass (K 2, 40) or into the [N, K] scratch, checked as they are written (K 30, 70).
    [Theory]
    [InlineData(2)]
    [InlineData(30)]
    [InlineData(40)]
    [InlineData(70)]
    public void AnOverflowingDensityIsRefused(int k)
    {
        var rng = new Random(k);
        var means = Enumerable.Repeat(0.5, k).ToArray();
        means[k - 1] = 1e300;
        var covars = Enumerable.Repeat(1.0, k).ToArray();
        covars[k - 1] = 1e-10;
        var m = new GaussianHmm(k, CovarianceType.Diag, 1)
        {
            Startprob = HmmTestModels.Stochastic(rng, 1, k), Transmat = HmmTestModels.Stochastic(rng, k, k), Means = means, Covars = covars,
        };
        int n = k == 40 ? 25000 : 40;  // 40 states fuse from N K = 1,000,000
        var x = Enumerable.Range(0, n).Select(i => i < 17 ? -1.0 : 1.0).ToArray();  // from row 17 on: NaN
        var e = Assert.Throws<ArgumentException>(() => m.Decode(x));
        Assert.Contains($"x[17]: its Gaussian log-density under state {k - 1} is ", e.Message);
        Assert.Contains("nan (the terms overflow)", e.Message);
    }
}
