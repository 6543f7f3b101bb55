using System.Numerics.Tensors;
using Hpc.Interop;

namespace Hpc.Hmm;

/// <summary>
/// Base of the hmmlearn-compatible hidden Markov models. Observations of several sequences are passed concatenated
/// with their lengths (hmmlearn's <c>X</c> and <c>lengths</c>); an empty <c>lengths</c> means one sequence.
/// Arrays are flat and row-major: startprob [K], transmat [K*K], posteriors [N*K].
/// </summary>
/// <typeparam name="TObs">double for Gaussian emissions ([N, D] rows), int for categorical symbols ([N]).</typeparam>
public abstract unsafe class HiddenMarkovModel<TObs> where TObs : unmanaged
{
    private double[]? _startprob;
    private double[]? _transmat;
    private readonly List<string> _warnings = [];

    private protected HiddenMarkovModel(int nComponents, string parameters)
    {
        Validate.Positive(nComponents, nameof(nComponents));
        NComponents = nComponents;
        Params = parameters;
        InitParams = parameters;
        Monitor = new ConvergenceMonitor(Tol, NIter);
    }

    /// <summary>Number of hidden states K (hmmlearn's <c>n_components</c>).</summary>
    public int NComponents { get; }
    /// <summary>Dirichlet prior concentration for <see cref="Startprob"/> (default 1: no prior).</summary>
    public double StartprobPrior { get; set; } = 1.0;
    /// <summary>Dirichlet prior concentration for every row of <see cref="Transmat"/> (default 1).</summary>
    public double TransmatPrior { get; set; } = 1.0;
    /// <summary>Decoder used by <see cref="Decode(ReadOnlySpan{TObs}, ReadOnlySpan{int}, DecoderAlgorithm?)"/> and <see cref="Predict"/> (default Viterbi).</summary>
    public DecoderAlgorithm Algorithm { get; set; } = DecoderAlgorithm.Viterbi;
    /// <summary>Seed of initialisation and sampling; null means a fresh seed each time.</summary>
    public int? RandomState { get; set; }
    /// <summary>Maximum EM iterations (default 10).</summary>
    public int NIter { get; set; } = 10;
    /// <summary>EM stops when the gain in log-likelihood is below this (default 1e-2).</summary>
    public double Tol { get; set; } = 1e-2;
    /// <summary>Letters of the parameters EM updates: s startprob, t transmat, and the emission letters.</summary>
    public string Params { get; set; }
    /// <summary>Letters of the parameters <see cref="Fit"/> initialises; parameters never set are initialised too.</summary>
    public string InitParams { get; set; }
    /// <summary>Forward-backward implementation (default log, like hmmlearn).</summary>
    public HmmImplementation Implementation { get; set; } = HmmImplementation.Log;
    /// <summary>EM progress of the last <see cref="Fit"/>.</summary>
    public ConvergenceMonitor Monitor { get; private set; }
    /// <summary>What the last <see cref="Fit"/> had to guard against: states without posterior mass (parameters
    /// kept), rows without transitions (kept), covariances floored.</summary>
    public IReadOnlyList<string> FitWarnings => _warnings;

    /// <summary>Initial state distribution [K]; non-negative, summing to 1.</summary>
    /// <exception cref="ArgumentException">Wrong length or not a probability vector.</exception>
    public double[]? Startprob
    {
        get => _startprob;
        set => _startprob = value == null ? null : CheckStochastic(value, 1, NComponents, nameof(Startprob));
    }

    /// <summary>Transition matrix [K*K], row-major; every row non-negative and summing to 1.</summary>
    /// <exception cref="ArgumentException">Wrong length or a row that is not a probability vector.</exception>
    public double[]? Transmat
    {
        get => _transmat;
        set => _transmat = value == null ? null : CheckStochastic(value, NComponents, NComponents, nameof(Transmat));
    }

    /// <summary>Values per observation row: D for Gaussian emissions, 1 for categorical.</summary>
    public abstract int ValuesPerRow { get; }

    private protected abstract void CheckObservations(ReadOnlySpan<TObs> x, string name);
    private protected abstract void CheckEmissionParameters();
    private protected abstract void ComputeLogEmission(ReadOnlySpan<TObs> x, int n, Span<double> logB);
    private protected abstract void InitEmission(ReadOnlySpan<TObs> x, int n, ulong seed);
    private protected abstract void EmissionMStep(ReadOnlySpan<TObs> x, int n, ReadOnlySpan<double> posteriors, List<string> warnings);
    private protected abstract object CaptureEmission();
    private protected abstract void RestoreEmission(object state);
    private protected abstract void SampleEmission(int state, ref SplitMix64 rng, Span<TObs> row);
    /// <summary>Viterbi from the observations in one native call of the emission's own (path [N], seqLogprob [S]):
    /// the densities computed or looked up inside the pass where it can, no [N, K] array read back to check it.</summary>
    private protected abstract void ViterbiFromObservations(ReadOnlySpan<TObs> x, int n, long* lengths, int nSeqs,
        double* startprob, double* transmat, long* path, double* seqLogprob);

    /// <summary>Called once before EM iterations on the same observations, and after them, also when they fail.</summary>
    private protected virtual void BeginFit(ReadOnlySpan<TObs> x) { }
    /// <summary>Whether <see cref="Expectation"/> runs this model's E-step in one native call (the emission
    /// statistics summed inside the forward-backward pass, no posteriors stored); checked once per Fit, after the
    /// emission parameters are initialised.</summary>
    private protected virtual bool HasExpectation => false;
    /// <summary>The E-step of one EM iteration in one call: ll [S], xi [K*K] and start [K] as
    /// <see cref="ForwardBackward"/> gives them, the emission statistics kept for
    /// <see cref="EmissionMStepFromExpectation"/>. Only where <see cref="HasExpectation"/>.</summary>
    private protected virtual void Expectation(ReadOnlySpan<TObs> x, long[] lens, int n, Span<double> ll, Span<double> xi, Span<double> start) =>
        throw new InvalidOperationException("this model has no one-call E-step");
    /// <summary>The emission M-step from the statistics of the last <see cref="Expectation"/>.</summary>
    private protected virtual void EmissionMStepFromExpectation(List<string> warnings) =>
        throw new InvalidOperationException("this model has no one-call E-step");
    private protected virtual void EndFit() { }

    private protected bool NeedsInit(char code, object? current) => InitParams.Contains(code) || current == null;

    /// <summary>
    /// Estimates the parameters with EM (Baum-Welch) from <paramref name="x"/>, initialising those in
    /// <see cref="InitParams"/> (and any never set) first. On an exception the model is left as it was.
    /// </summary>
    /// <param name="x">Observations of all sequences, concatenated.</param>
    /// <param name="lengths">Length of each sequence (each &gt; 0, summing to the number of rows); empty: one sequence.</param>
    /// <returns>This model.</returns>
    /// <exception cref="ArgumentException">Bad shapes, lengths, values or hyper-parameters.</exception>
    public HiddenMarkovModel<TObs> Fit(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default)
    {
        if (NIter < 1) throw new ArgumentOutOfRangeException(nameof(NIter), NIter, $"NIter must be >= 1, got {NIter}.");
        if (double.IsNaN(Tol)) throw new ArgumentOutOfRangeException(nameof(Tol), Tol, "Tol must be a number (-infinity runs all NIter iterations), got NaN.");
        CheckPriors();
        var (n, lens) = Batch(x, lengths);
        CheckObservations(x, nameof(x));
        var saved = (_startprob?.Clone(), _transmat?.Clone(), CaptureEmission(), Monitor);
        _warnings.Clear();
        try
        {
            ulong seed = RandomState.HasValue ? (ulong)RandomState.Value : (ulong)Random.Shared.NextInt64();
            int k = NComponents;
            if (NeedsInit('s', _startprob)) _startprob = Uniform(k, 1);
            if (NeedsInit('t', _transmat)) _transmat = Uniform(k * k, k);
            InitEmission(x, n, seed);
            CheckEmissionParameters();
            Monitor = new ConvergenceMonitor(Tol, NIter);
            // With a one-call E-step (HasExpectation) no [N, K] arrays are needed.
            bool oneCall = HasExpectation;
            using var logB = new PooledArray<double>(oneCall ? 0 : (long)n * k, nameof(x));
            using var post = new PooledArray<double>(oneCall ? 0 : (long)n * k, nameof(x));
            var xi = new double[k * k];
            var start = new double[k];
            var ll = new double[lens.Length];
            BeginFit(x);
            for (int iter = 0; iter < NIter; iter++)
            {
                if (oneCall) Expectation(x, lens, n, ll, xi, start);
                else
                {
                    ComputeLogEmission(x, n, logB.Span);
                    ForwardBackward(lens, n, logB.Span, ll, post.Span, xi, start, default);
                }
                double curr = ll.Sum();
                BaseMStep(start, xi);
                if (oneCall) EmissionMStepFromExpectation(_warnings);
                else EmissionMStep(x, n, post.Span, _warnings);
                Monitor.Report(curr);
                if (Monitor.Converged) break;
            }
            EndFit();
        }
        catch
        {
            EndFit();
            _startprob = (double[]?)saved.Item1;
            _transmat = (double[]?)saved.Item2;
            RestoreEmission(saved.Item3);
            Monitor = saved.Monitor;
            throw;
        }
        return this;
    }

    /// <summary>Total log-likelihood of all sequences (hmmlearn's <c>score</c>).</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values.</exception>
    public double Score(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default) => ScorePerSequence(x, lengths).Sum();

    /// <summary>Log-likelihood of each sequence.</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values.</exception>
    public double[] ScorePerSequence(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default)
    {
        var (n, lens) = Prepare(x, lengths);
        using var logB = LogEmission(x, n);
        var ll = new double[lens.Length];
        ForwardBackward(lens, n, logB.Span, ll, default, default, default, default);
        return ll;
    }

    /// <summary>Total log-likelihood and the state posteriors [N*K] (hmmlearn's <c>score_samples</c>).</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values, or a sequence of zero probability.</exception>
    public (double LogProb, double[] Posteriors) ScoreSamples(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default)
    {
        var (n, lens) = Prepare(x, lengths);
        var post = GC.AllocateUninitializedArray<double>(PooledArray<double>.ArrayLength((long)n * NComponents, nameof(x)));  // every value is written
        return (ScoreSamplesInto(x, n, lens, post), post);
    }

    /// <summary>
    /// Total log-likelihood, with the state posteriors written to <paramref name="posteriors"/> [N*K]: hmmlearn's
    /// <c>score_samples</c> without allocating its result (for repeated calls on data of one size: a new [N, K]
    /// array per call was measurably slower, see the README). On an exception the contents of <paramref name="posteriors"/> are
    /// unspecified.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values (<paramref name="posteriors"/> not N*K values
    /// long), or a sequence of zero probability.</exception>
    public double ScoreSamples(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths, Span<double> posteriors)
    {
        var (n, lens) = Prepare(x, lengths);
        long expected = (long)n * NComponents;
        if (posteriors.Length != expected)
            throw new ArgumentException($"posteriors: expected {expected} values ([{n}, {NComponents}]), got {posteriors.Length}.", nameof(posteriors));
        return ScoreSamplesInto(x, n, lens, posteriors);
    }

    /// <summary>State posteriors [N*K] (hmmlearn's <c>predict_proba</c>).</summary>
    public double[] PredictProba(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default) => ScoreSamples(x, lengths).Posteriors;

    /// <summary>The decoded state of every row (hmmlearn's <c>predict</c>), with <see cref="Algorithm"/>.</summary>
    public int[] Predict(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default) => Decode(x, lengths).States;

    /// <summary>
    /// Decodes the hidden states (hmmlearn's <c>decode</c>). Viterbi: the most likely path and its total log
    /// probability. Map: the most likely state per row and, as hmmlearn reports it, the sum of those posteriors.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values.</exception>
    public (double LogProb, int[] States) Decode(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default, DecoderAlgorithm? algorithm = null)
    {
        var (n, lens) = Prepare(x, lengths);
        var states = GC.AllocateUninitializedArray<int>(n);  // every value is written
        return (DecodeInto(x, n, lens, states, algorithm ?? Algorithm), states);
    }

    /// <summary>
    /// <see cref="Decode(ReadOnlySpan{TObs}, ReadOnlySpan{int}, DecoderAlgorithm?)"/> with the states written to
    /// <paramref name="states"/> [N] instead of a new array; returns the log probability. On an exception the
    /// contents of <paramref name="states"/> are unspecified.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    /// <exception cref="ArgumentException">Bad shapes, lengths or values (<paramref name="states"/> not N values long).</exception>
    public double Decode(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths, Span<int> states, DecoderAlgorithm? algorithm = null)
    {
        var (n, lens) = Prepare(x, lengths);
        if (states.Length != n)
            throw new ArgumentException($"states: expected {n} values (one per row of x), got {states.Length}.", nameof(states));
        return DecodeInto(x, n, lens, states, algorithm ?? Algorithm);
    }

    // The bodies of ScoreSamples and Decode, after Prepare and the output's length have been checked.
    private double ScoreSamplesInto(ReadOnlySpan<TObs> x, int n, long[] lens, Span<double> posteriors)
    {
        using var logB = LogEmission(x, n);
        var ll = new double[lens.Length];
        ForwardBackward(lens, n, logB.Span, ll, posteriors, default, default, default);
        return ll.Sum();
    }

    private double DecodeInto(ReadOnlySpan<TObs> x, int n, long[] lens, Span<int> states, DecoderAlgorithm algo)
    {
        int k = NComponents;
        if (algo == DecoderAlgorithm.Map)
        {
            using var post = new PooledArray<double>((long)n * k, nameof(x));
            ScoreSamplesInto(x, n, lens, post.Span);
            ReadOnlySpan<double> q = post.Span;
            double sum = 0;
            for (int r = 0; r < n; r++)
            {
                int best = 0;
                for (int j = 1; j < k; j++) if (q[r * k + j] > q[r * k + best]) best = j;
                states[r] = best;
                sum += q[r * k + best];
            }
            return sum;
        }
        using var path = new PooledArray<long>(n, nameof(x));  // every value is written, then narrowed
        var lp = new double[lens.Length];
        fixed (long* pl = lens, pp = path.Span)
        fixed (double* ps = _startprob, pt = _transmat, plp = lp)
            ViterbiFromObservations(x, n, pl, lens.Length, ps, pt, pp, plp);
        // The states are in [0, K), so truncating is exact; vectorised (a scalar loop was 8 % of a K 8 decode's
        // calling thread at 100,000 rows).
        TensorPrimitives.ConvertTruncating<long, int>(path.Span, states);
        return lp.Sum();
    }

    /// <summary>Draws <paramref name="n"/> observations and their states from the model (hmmlearn's <c>sample</c>).</summary>
    /// <param name="n">Number of rows, &gt; 0.</param>
    /// <param name="seed">Seed of the deterministic generator.</param>
    /// <returns>Observations ([n*D] or [n]) and states [n].</returns>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    public (TObs[] X, int[] States) Sample(int n, ulong seed)
    {
        Validate.Positive(n, nameof(n));
        RequireParameters();
        var rng = new SplitMix64(seed);
        var x = new TObs[(long)n * ValuesPerRow];
        var states = new int[n];
        int k = NComponents;
        int s = Draw(_startprob!, 0, k, ref rng);
        for (int t = 0; t < n; t++)
        {
            if (t > 0) s = Draw(_transmat!, s * k, k, ref rng);
            states[t] = s;
            SampleEmission(s, ref rng, x.AsSpan(t * ValuesPerRow, ValuesPerRow));
        }
        return (x, states);
    }

    private static int Draw(double[] p, int offset, int k, ref SplitMix64 rng)
    {
        double u = rng.NextDouble(), c = 0;
        for (int j = 0; j < k; j++)
        {
            c += p[offset + j];
            if (u < c) return j;
        }
        for (int j = k - 1; j >= 0; j--) if (p[offset + j] > 0) return j;  // rounding left u above the total
        return k - 1;
    }

    private void CheckPriors()
    {
        if (!double.IsFinite(StartprobPrior) || StartprobPrior < 0)
            throw new ArgumentOutOfRangeException(nameof(StartprobPrior), StartprobPrior, $"StartprobPrior must be finite and >= 0, got {StartprobPrior}.");
        if (!double.IsFinite(TransmatPrior) || TransmatPrior < 0)
            throw new ArgumentOutOfRangeException(nameof(TransmatPrior), TransmatPrior, $"TransmatPrior must be finite and >= 0, got {TransmatPrior}.");
    }

    private void BaseMStep(double[] start, double[] xi)
    {
        int k = NComponents;
        if (Params.Contains('s'))
        {
            var sp = new double[k];
            for (int i = 0; i < k; i++) sp[i] = _startprob![i] == 0 ? 0 : Math.Max(StartprobPrior - 1 + start[i], 0);
            if (Normalize(sp, 0, k)) _startprob = sp;
            else _warnings.Add("startprob: the update has no mass (every allowed start state has zero posterior); kept the previous startprob");
        }
        if (Params.Contains('t'))
        {
            var tm = new double[k * k];
            for (int i = 0; i < k * k; i++) tm[i] = _transmat![i] == 0 ? 0 : Math.Max(TransmatPrior - 1 + xi[i], 0);
            for (int i = 0; i < k; i++)
                if (!Normalize(tm, i * k, k))
                {
                    Array.Copy(_transmat!, i * k, tm, i * k, k);
                    _warnings.Add($"transmat row {i}: no transitions out of state {i} in the data; kept its previous row");
                }
            _transmat = tm;
        }
    }

    /// <summary>Divides a row by its sum; false when the sum is not positive (the row is left as it is).</summary>
    private protected static bool Normalize(double[] a, int offset, int count)
    {
        double s = 0;
        for (int i = 0; i < count; i++) s += a[offset + i];
        if (!(s > 0) || !double.IsFinite(s)) return false;
        for (int i = 0; i < count; i++) a[offset + i] /= s;
        return true;
    }

    private static double[] Uniform(int count, int rows)
    {
        var a = new double[count];
        Array.Fill(a, 1.0 / (count / rows));
        return a;
    }

    // Empty spans are the outputs not asked for (NULL, length 0).
    private void ForwardBackward(long[] lens, int n, ReadOnlySpan<double> logB, Span<double> ll, Span<double> post, Span<double> xi,
        Span<double> start, Span<double> llBackward)
    {
        int k = NComponents;
        int mode = Implementation == HmmImplementation.Scaling ? 0 : 1;
        fixed (long* pl = lens)
        fixed (double* pb = logB, ps = _startprob, pt = _transmat, pll = ll, pp = post, px = xi, pst = start, pbw = llBackward)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_forward_backward(mode, k, lens.Length, pl, n, pb, logB.Length, ps, k, pt, k * k,
                pll, ll.Length, pp, post.Length, px, xi.Length, pst, start.Length, pbw, llBackward.Length));
    }

    /// <summary>Log-likelihood of each sequence recomputed from the backward variables (a consistency check).</summary>
    internal double[] BackwardScorePerSequence(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths = default)
    {
        var (n, lens) = Prepare(x, lengths);
        using var logB = LogEmission(x, n);
        var ll = new double[lens.Length];
        var llb = new double[lens.Length];
        ForwardBackward(lens, n, logB.Span, ll, default, default, default, llb);
        return llb;
    }

    /// <summary>Emission log-densities [N*K] under the current parameters.</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    public double[] EmissionLogLikelihood(ReadOnlySpan<TObs> x)
    {
        var (n, _) = Batch(x, default);
        CheckObservations(x, nameof(x));
        RequireParameters();
        var logB = new double[(long)n * NComponents];
        ComputeLogEmission(x, n, logB);
        return logB;
    }

    private (int N, long[] Lengths) Prepare(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths)
    {
        var (n, lens) = Batch(x, lengths);
        CheckObservations(x, nameof(x));
        RequireParameters();
        return (n, lens);
    }

    // The emission log-densities [N*K] in pooled scratch (the caller disposes it).
    private PooledArray<double> LogEmission(ReadOnlySpan<TObs> x, int n)
    {
        var logB = new PooledArray<double>((long)n * NComponents, nameof(x));
        try
        {
            ComputeLogEmission(x, n, logB.Span);
            return logB;
        }
        catch
        {
            logB.Dispose();
            throw;
        }
    }

    private protected void RequireParameters()
    {
        if (_startprob == null || _transmat == null)
            throw new InvalidOperationException("The model has no startprob/transmat yet: Fit it or set its parameters first.");
        CheckEmissionParameters();
    }

    private (int N, long[] Lengths) Batch(ReadOnlySpan<TObs> x, ReadOnlySpan<int> lengths)
    {
        int d = ValuesPerRow;
        if (x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"x: expected a non-empty [N, {d}] array (a multiple of {d} values), got {x.Length} values.", nameof(x));
        int n = x.Length / d;
        if (lengths.IsEmpty) return (n, [n]);
        var lens = new long[lengths.Length];
        long sum = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] <= 0)
                throw new ArgumentException($"lengths[{i}]: expected a positive sequence length, got {lengths[i]}.", nameof(lengths));
            lens[i] = lengths[i];
            sum += lengths[i];
        }
        if (sum != n)
            throw new ArgumentException($"lengths: expected to sum to the number of rows of x ({n}), got {sum}.", nameof(lengths));
        return (n, lens);
    }

    /// <summary>Checks that <paramref name="rows"/> rows of <paramref name="cols"/> values are probability vectors.</summary>
    private protected static double[] CheckStochastic(double[] v, int rows, int cols, string name)
    {
        if (v.Length != rows * cols)
            throw new ArgumentException($"{name}: expected {rows * cols} values ({(rows == 1 ? $"[{cols}]" : $"[{rows}, {cols}]")}), got {v.Length}.", name);
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++)
            {
                double p = v[r * cols + c];
                if (!double.IsFinite(p) || p < 0)
                    throw new ArgumentException($"{name}[{r * cols + c}]: expected a probability in [0, 1], got {p}.", name);
                s += p;
            }
            if (Math.Abs(s - 1) > 1e-6)
                throw new ArgumentException($"{name}{(rows == 1 ? "" : $" row {r}")}: expected to sum to 1, got {s:R}.", name);
        }
        return (double[])v.Clone();
    }
}
