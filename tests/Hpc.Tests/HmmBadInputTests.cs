using Hpc.Hmm;
using Xunit;

namespace Hpc.Tests;

/// <summary>HMM calls validate before any native call, name the argument, and never leave a half-updated model.</summary>
public class HmmBadInputTests
{
    private static GaussianHmm Model() => new(2, CovarianceType.Diag, 2)
    {
        Startprob = [0.5, 0.5], Transmat = [0.9, 0.1, 0.2, 0.8],
        Means = [0, 0, 3, 3], Covars = [1, 1, 1, 1],
    };

    private static readonly double[] X = [0.1, 0.2, 2.9, 3.1, 0, 0, 3, 3];

    [Fact]
    public void WrongDimensionsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Model().Score(new double[5]));
        Assert.Contains("expected a non-empty [N, 2] array (a multiple of 2 values), got 5 values", e.Message);
        Assert.Throws<ArgumentException>(() => Model().Score([]));
    }

    [Fact]
    public void OutputSpansOfTheWrongLengthAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Model().ScoreSamples(X, [2, 2], new double[7]));
        Assert.Equal("posteriors", e.ParamName);
        Assert.Contains("expected 8 values ([4, 2]), got 7", e.Message);
        e = Assert.Throws<ArgumentException>(() => Model().Decode(X, default, new int[5]));
        Assert.Equal("states", e.ParamName);
        Assert.Contains("expected 4 values (one per row of x), got 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => Model().Decode(X, default, new int[3], DecoderAlgorithm.Map));
        Assert.Equal("states", e.ParamName);
    }

    // The finiteness check sums x - x over vectors in four interleaved sums, then a tail: a bad value at every
    // position of every length up to a few vector groups (in a group of four, in the vector tail, in the scalar tail)
    // is found and named.
    [Fact]
    public void ANonFiniteObservationIsFoundAtEveryPosition()
    {
        var m = new GaussianHmm(2, CovarianceType.Diag, 1) { Startprob = [0.5, 0.5], Transmat = [0.9, 0.1, 0.2, 0.8], Means = [0, 3], Covars = [1, 1] };
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            for (int n = 1; n <= 41; n++)
                for (int p = 0; p < n; p++)
                {
                    var x = new double[n];
                    for (int i = 0; i < n; i++) x[i] = i * 0.25;
                    x[p] = bad;
                    var e = Assert.Throws<ArgumentException>(() => m.Score(x));
                    Assert.Equal("x", e.ParamName);
                    Assert.StartsWith($"x[{p}] is {bad}", e.Message);
                }
        Assert.True(double.IsFinite(m.Score(Enumerable.Range(0, 41).Select(i => i * 0.25).ToArray())));
    }

    [Fact]
    public void LengthsMustBePositiveAndSumToTheRows()
    {
        Assert.Contains("expected to sum to the number of rows of x (4), got 3", Assert.Throws<ArgumentException>(() => Model().Score(X, [1, 2])).Message);
        Assert.Contains("lengths[1]: expected a positive sequence length, got 0", Assert.Throws<ArgumentException>(() => Model().Score(X, [4, 0])).Message);
        Assert.Contains("lengths[0]: expected a positive sequence length, got -1", Assert.Throws<ArgumentException>(() => Model().Score(X, [-1, 5])).Message);
    }

    [Fact]
    public void NonStochasticStartprobAndTransmatAreRejected()
    {
        var m = Model();
        Assert.Contains("Startprob: expected to sum to 1, got 0.9", Assert.Throws<ArgumentException>(() => m.Startprob = [0.5, 0.4]).Message);
        Assert.Contains("Transmat row 1: expected to sum to 1", Assert.Throws<ArgumentException>(() => m.Transmat = [0.5, 0.5, 0.5, 0.6]).Message);
        Assert.Contains("Transmat[1]: expected a probability in [0, 1], got -0.1", Assert.Throws<ArgumentException>(() => m.Transmat = [1.1, -0.1, 0.5, 0.5]).Message);
        Assert.Contains("expected 4 values ([2, 2]), got 3", Assert.Throws<ArgumentException>(() => m.Transmat = [1, 0, 1]).Message);
    }

    [Fact]
    public void CovariancesThatAreNotPositiveDefiniteAreRejected()
    {
        var m = new GaussianHmm(1, CovarianceType.Full, 2) { Startprob = [1], Transmat = [1], Means = [0, 0] };
        Assert.Contains("positive-definite", Assert.Throws<ArgumentException>(() => m.Covars = [1, 2, 2, 1]).Message);
        Assert.Contains("symmetric", Assert.Throws<ArgumentException>(() => m.Covars = [1, 0.5, 0, 1]).Message);
        var d = Model();
        Assert.Contains("covars[1]: expected a variance > 0, got 0", Assert.Throws<ArgumentException>(() => d.Covars = [1, 0, 1, 1]).Message);
        Assert.Contains("expected 4 values ([2, 2] for Diag), got 2", Assert.Throws<ArgumentException>(() => d.Covars = [1, 1]).Message);
    }

    [Fact]
    public void SymbolsOutOfRangeAreRejected()
    {
        var c = new CategoricalHmm(2, 3) { Startprob = [0.5, 0.5], Transmat = [0.5, 0.5, 0.5, 0.5], Emissionprob = [0.2, 0.3, 0.5, 0.1, 0.1, 0.8] };
        Assert.Contains("x[2]: expected a symbol in [0, 3), got 3", Assert.Throws<ArgumentException>(() => c.Score([0, 1, 3])).Message);
        Assert.Contains("x[0]: expected a symbol in [0, 3), got -1", Assert.Throws<ArgumentException>(() => c.Decode([-1])).Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void NonFiniteObservationsAreRejected(double bad)
    {
        var x = (double[])X.Clone();
        x[5] = bad;
        var e = Assert.Throws<ArgumentException>(() => Model().Fit(x));
        Assert.Contains("x[5]", e.Message);
    }

    [Fact]
    public void UnfittedModelsSaySo()
    {
        Assert.Throws<InvalidOperationException>(() => new GaussianHmm(2, CovarianceType.Diag, 2).Score(X));
        Assert.Throws<InvalidOperationException>(() => new CategoricalHmm(2).Sample(3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianHmm(0));
    }

    [Fact]
    public void AFailedFitLeavesTheModelUnchanged()
    {
        var m = Model();
        m.InitParams = "";
        var before = (m.Startprob!.ToArray(), m.Transmat!.ToArray(), m.Means!.ToArray(), m.Covars!.ToArray());
        var x = (double[])X.Clone();
        x[7] = double.NaN;
        Assert.Throws<ArgumentException>(() => m.Fit(x));
        m.MinCovar = double.NaN;  // fails inside Fit, after initialisation would have run
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(X));
        Assert.Equal(before.Item1, m.Startprob!);
        Assert.Equal(before.Item2, m.Transmat!);
        Assert.Equal(before.Item3, m.Means!);
        Assert.Equal(before.Item4, m.Covars!);
        Assert.Throws<ArgumentException>(() => m.Fit(X, 3));  // D mismatch
        Assert.Equal(2, m.NFeatures);
    }

    [Fact]
    public void AStateWithoutDataKeepsItsParametersAndIsReportedNeverNaN()
    {
        // State 2 is unreachable (zero start probability and no transitions into it): it gets no posterior mass.
        var m = new GaussianHmm(3, CovarianceType.Diag, 1)
        {
            Startprob = [0.5, 0.5, 0], Transmat = [0.5, 0.5, 0, 0.5, 0.5, 0, 0.3, 0.3, 0.4],
            Means = [0, 3, 10], Covars = [1, 1, 2], InitParams = "", NIter = 3,
        };
        m.Fit([0.1, 0.2, 3.1, 2.9, -0.1, 3.3]);
        Assert.Equal(10, m.Means![2]);
        Assert.Equal(2, m.Covars![2]);
        Assert.All(m.Means!.Concat(m.Covars!).Concat(m.Transmat!), v => Assert.True(double.IsFinite(v)));
        Assert.Contains(m.FitWarnings, w => w.Contains("state 2 received no posterior mass"));
    }

    [Fact]
    public void ASingularCovarianceIsFlooredAndReported()
    {
        // All observations of state 0 are identical: its variance would be 0 without the floor.
        var m = new GaussianHmm(2, CovarianceType.Diag, 1)
        {
            Startprob = [0.5, 0.5], Transmat = [0.5, 0.5, 0.5, 0.5], Means = [1, 50], Covars = [1, 1],
            InitParams = "", NIter = 1, CovarsPrior = 0,
        };
        m.Fit([1, 1, 1, 1, 50, 51]);
        Assert.Equal(m.MinCovar, m.Covars![0]);
        Assert.Contains(m.FitWarnings, w => w.Contains("floored"));
        var f = new GaussianHmm(1, CovarianceType.Full, 2) { Startprob = [1], Transmat = [1], Means = [0, 0], Covars = [1, 0, 0, 1], InitParams = "", NIter = 1, CovarsPrior = 0 };
        f.Fit([1, 1, 2, 2, 3, 3]);  // points on a line: a singular 2x2 covariance
        Assert.Contains(f.FitWarnings, w => w.Contains("singular"));
        Assert.True(Cholesky.MinPivot(f.Covars!, 2) > 0);
    }
}
