namespace Hpc.Training;

/// <summary>A distribution to draw one hyper-parameter from in a random search.</summary>
public abstract record Distribution
{
    internal abstract object Sample(ref SplitMix64 rng);
}

/// <summary>One of the given values, equally likely.</summary>
public sealed record Choice(params object[] Values) : Distribution
{
    internal override object Sample(ref SplitMix64 rng) => Values[(int)(rng.NextDouble() * Values.Length)];
}

/// <summary>Uniform on [Low, High).</summary>
public sealed record Uniform(double Low, double High) : Distribution
{
    internal override object Sample(ref SplitMix64 rng) => Low + (High - Low) * rng.NextDouble();
}

/// <summary>Log-uniform on [Low, High) (for learning rates).</summary>
public sealed record LogUniform(double Low, double High) : Distribution
{
    internal override object Sample(ref SplitMix64 rng) => Math.Exp(Math.Log(Low) + (Math.Log(High) - Math.Log(Low)) * rng.NextDouble());
}

/// <summary>An integer in [Low, High].</summary>
public sealed record IntRange(int Low, int High) : Distribution
{
    internal override object Sample(ref SplitMix64 rng) => Low + (int)(rng.NextDouble() * (High - Low + 1));
}

/// <summary>One evaluated configuration.</summary>
/// <param name="Index">0-based trial number.</param>
/// <param name="Config">The hyper-parameters.</param>
/// <param name="Score">The objective's value (lower is better unless the search maximises).</param>
/// <param name="Elapsed">Time the objective took.</param>
public sealed record Trial(int Index, IReadOnlyDictionary<string, object> Config, double Score, TimeSpan Elapsed);

/// <summary>The best trial and every trial in order.</summary>
public sealed record SearchResult(Trial Best, IReadOnlyList<Trial> Trials);

/// <summary>Grid and random search over a training function, seeded and reproducible.</summary>
public static class HyperparameterSearch
{
    /// <summary>Evaluates every combination of the values (in the order the keys and values are given).</summary>
    /// <exception cref="ArgumentException">An empty space or a parameter without values.</exception>
    public static SearchResult Grid(IReadOnlyDictionary<string, object[]> space, Func<IReadOnlyDictionary<string, object>, double> objective, bool maximize = false)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(objective);
        if (space.Count == 0) throw new ArgumentException("space: expected at least one hyper-parameter.", nameof(space));
        foreach (var (k, v) in space)
            if (v.Length == 0) throw new ArgumentException($"space['{k}']: expected at least one value.", nameof(space));
        var keys = space.Keys.ToArray();
        var configs = new List<Dictionary<string, object>> { new() };
        foreach (var k in keys)
            configs = configs.SelectMany(c => space[k].Select(v => new Dictionary<string, object>(c) { [k] = v })).ToList();
        return Run(configs, objective, maximize);
    }

    /// <summary>Evaluates <paramref name="trials"/> configurations drawn from the distributions with a generator seeded by <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">An empty space or trials &lt;= 0.</exception>
    public static SearchResult Random(IReadOnlyDictionary<string, Distribution> space, int trials, ulong seed, Func<IReadOnlyDictionary<string, object>, double> objective, bool maximize = false)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(objective);
        if (space.Count == 0) throw new ArgumentException("space: expected at least one hyper-parameter.", nameof(space));
        Validate.Positive(trials, nameof(trials));
        var rng = new SplitMix64(seed);
        var configs = new List<Dictionary<string, object>>();
        for (int i = 0; i < trials; i++)
        {
            var c = new Dictionary<string, object>();
            foreach (var (k, d) in space) c[k] = d.Sample(ref rng);
            configs.Add(c);
        }
        return Run(configs, objective, maximize);
    }

    private static SearchResult Run(List<Dictionary<string, object>> configs, Func<IReadOnlyDictionary<string, object>, double> objective, bool maximize)
    {
        var trials = new List<Trial>();
        foreach (var c in configs)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double score = objective(c);
            trials.Add(new Trial(trials.Count, c, score, clock.Elapsed));
        }
        var valid = trials.Where(t => !double.IsNaN(t.Score)).ToList();
        if (valid.Count == 0) throw new InvalidOperationException("Every trial scored NaN.");
        var best = maximize ? valid.MaxBy(t => t.Score)! : valid.MinBy(t => t.Score)!;
        return new SearchResult(best, trials);
    }
}
