using System.Numerics.Tensors;
using Hpc.Interop;

namespace Hpc.Hmm;

/// <summary>
/// Hidden Markov model with categorical emissions, with hmmlearn's <c>CategoricalHMM</c> names, defaults and
/// M-step. Observations are symbols in [0, M): x [N].
/// </summary>
public sealed unsafe class CategoricalHmm : HiddenMarkovModel<int>
{
    private double[]? _emissionprob;
    private int _nFeatures;
    private long[]? _fitSymbols;  // the native symbol array of the observations being fitted, converted once per Fit

    private protected override void BeginFit(ReadOnlySpan<int> x) => _fitSymbols = Symbols(x);
    private protected override void EndFit() => _fitSymbols = null;

    /// <summary>Creates an unfitted model.</summary>
    /// <param name="nComponents">Number of states K &gt; 0.</param>
    /// <param name="nFeatures">Number of symbols M, or 0 to take max(x) + 1 at the first fit.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    public CategoricalHmm(int nComponents, int nFeatures = 0) : base(nComponents, "ste")
    {
        if (nFeatures < 0) throw new ArgumentOutOfRangeException(nameof(nFeatures), nFeatures, $"nFeatures must be >= 0, got {nFeatures}.");
        _nFeatures = nFeatures;
    }

    /// <summary>Dirichlet prior concentration on every row of <see cref="Emissionprob"/> (default 1: none).</summary>
    public double EmissionprobPrior { get; set; } = 1.0;
    /// <summary>Number of symbols M (0 until known).</summary>
    public int NFeatures => _nFeatures;
    /// <inheritdoc />
    public override int ValuesPerRow => 1;

    /// <summary>Emission probabilities [K*M], row-major; each row sums to 1. Setting it fixes M.</summary>
    /// <exception cref="ArgumentException">Length not a multiple of K, or rows that are not probability vectors.</exception>
    public double[]? Emissionprob
    {
        get => _emissionprob;
        set
        {
            if (value == null) { _emissionprob = null; return; }
            if (value.Length == 0 || value.Length % NComponents != 0)
                throw new ArgumentException($"Emissionprob: expected [K, M] = [{NComponents}, M] values, got {value.Length}.", nameof(Emissionprob));
            int m = value.Length / NComponents;
            _emissionprob = CheckStochastic(value, NComponents, m, nameof(Emissionprob));
            _nFeatures = m;
        }
    }

    private protected override void CheckObservations(ReadOnlySpan<int> x, string name)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] < 0 || (_nFeatures > 0 && x[i] >= _nFeatures))
                throw new ArgumentException($"{name}[{i}]: expected a symbol in [0, {(_nFeatures > 0 ? _nFeatures : int.MaxValue)}), got {x[i]}.", name);
        }
    }

    private protected override void CheckEmissionParameters()
    {
        if (_emissionprob == null) throw new InvalidOperationException("The model has no emissionprob yet: Fit it or set it first.");
        if (!double.IsFinite(EmissionprobPrior) || EmissionprobPrior < 0)
            throw new ArgumentOutOfRangeException(nameof(EmissionprobPrior), EmissionprobPrior, $"EmissionprobPrior must be finite and >= 0, got {EmissionprobPrior}.");
    }

    private protected override void ComputeLogEmission(ReadOnlySpan<int> x, int n, Span<double> logB)
    {
        // In Fit the symbols were widened once (BeginFit); outside it they go to pooled scratch.
        using var pooled = PooledSymbols(_fitSymbols == null ? x : ReadOnlySpan<int>.Empty);
        Span<long> symbols = _fitSymbols != null ? _fitSymbols : pooled.Span;
        fixed (long* ps = symbols)
        fixed (double* pe = _emissionprob, po = logB)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_categorical_loglik(NComponents, _nFeatures, n, ps, symbols.Length, pe, _emissionprob!.Length, po, logB.Length));
    }

    // The symbols as the native calls take them (int64), in pooled scratch: no allocation per call.
    private static PooledArray<long> PooledSymbols(ReadOnlySpan<int> x)
    {
        var symbols = new PooledArray<long>(x.Length, nameof(x));
        TensorPrimitives.ConvertChecked<int, long>(x, symbols.Span);
        return symbols;
    }

    // hpc_hmm_categorical_viterbi: up to 64 states each row's log-probabilities are looked up inside the Viterbi pass
    // (no [N, K] array written, checked and read back: 51 MB at K 64 and 100,000 rows); the same path and
    // log-probabilities, bit for bit, as ComputeLogEmission then hpc_hmm_viterbi.
    private protected override void ViterbiFromObservations(ReadOnlySpan<int> x, int n, long* lengths, int nSeqs,
        double* startprob, double* transmat, long* path, double* seqLogprob)
    {
        int k = NComponents;
        using var symbols = PooledSymbols(x);
        fixed (long* ps = symbols.Span)
        fixed (double* pe = _emissionprob)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_categorical_viterbi(k, _nFeatures, nSeqs, lengths, n, ps, n, pe,
                _emissionprob!.Length, startprob, k, transmat, (long)k * k, path, n, seqLogprob, nSeqs));
    }

    private static long[] Symbols(ReadOnlySpan<int> x)
    {
        var s = new long[x.Length];
        TensorPrimitives.ConvertChecked<int, long>(x, s);
        return s;
    }

    private protected override void InitEmission(ReadOnlySpan<int> x, int n, ulong seed)
    {
        if (_nFeatures == 0)
        {
            int max = 0;
            foreach (int v in x) max = Math.Max(max, v);
            _nFeatures = max + 1;
        }
        if (NeedsInit('e', _emissionprob))
        {
            var rng = new SplitMix64(seed ^ 0x5DEECE66DUL);
            var e = new double[NComponents * _nFeatures];
            for (int i = 0; i < e.Length; i++) e[i] = rng.NextDouble() + 1e-3;
            for (int s = 0; s < NComponents; s++) Normalize(e, s * _nFeatures, _nFeatures);
            _emissionprob = e;
        }
    }

    private protected override void EmissionMStep(ReadOnlySpan<int> x, int n, ReadOnlySpan<double> post, List<string> warnings)
    {
        if (!Params.Contains('e')) return;
        int k = NComponents, m = _nFeatures;
        var counts = new double[k * m];
        long[] symbols = _fitSymbols ?? Symbols(x);
        fixed (long* ps = symbols)
        fixed (double* pp = post, pc = counts)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_categorical_stats(k, m, n, ps, symbols.Length, pp, post.Length, pc, counts.Length));
        var e = new double[k * m];
        for (int i = 0; i < e.Length; i++) e[i] = Math.Max(EmissionprobPrior - 1 + counts[i], 0);
        for (int s = 0; s < k; s++)
            if (!Normalize(e, s * m, m))
            {
                Array.Copy(_emissionprob!, s * m, e, s * m, m);
                warnings.Add($"state {s} received no posterior mass; kept its previous emissionprob row");
            }
        _emissionprob = e;
    }

    private protected override object CaptureEmission() => (_emissionprob?.Clone(), _nFeatures);

    private protected override void RestoreEmission(object state)
    {
        var (e, m) = ((object?, int))state;
        _emissionprob = (double[]?)e;
        _nFeatures = m;
    }

    private protected override void SampleEmission(int state, ref SplitMix64 rng, Span<int> row)
    {
        double u = rng.NextDouble(), c = 0;
        int m = _nFeatures;
        for (int j = 0; j < m; j++)
        {
            c += _emissionprob![state * m + j];
            if (u < c) { row[0] = j; return; }
        }
        row[0] = m - 1;
    }
}
