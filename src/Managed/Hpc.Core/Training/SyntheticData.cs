namespace Hpc.Training;

/// <summary>Seeded synthetic tasks for lessons, tests and benchmarks.</summary>
public static class SyntheticData
{
    /// <summary>
    /// The mean-sign task: <paramref name="n"/> sequences of <paramref name="steps"/> values uniform in [-1, 1)
    /// (x [n, steps, 1]) and, per sequence, 1 if their mean is positive, else 0.
    /// </summary>
    public static (float[] X, float[] Y) MeanSign(int n, int steps, ulong seed)
    {
        Validate.Positive(n, nameof(n));
        Validate.Positive(steps, nameof(steps));
        var rng = new SplitMix64(seed);
        var x = new float[n * steps];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int t = 0; t < steps; t++) sum += x[i * steps + t] = (float)(rng.NextDouble() * 2 - 1);
            y[i] = sum > 0 ? 1 : 0;
        }
        return (x, y);
    }
}
