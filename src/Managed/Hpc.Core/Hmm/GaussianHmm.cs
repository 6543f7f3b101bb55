using Hpc.Interop;

namespace Hpc.Hmm;

/// <summary>
/// Hidden Markov model with Gaussian emissions, with hmmlearn's <c>GaussianHMM</c> names, defaults and M-step
/// (priors included). Observations are rows of D features: x [N*D].
/// </summary>
public sealed unsafe class GaussianHmm : HiddenMarkovModel<double>
{
    private double[]? _means;
    private double[]? _covars;
    private int _nFeatures;

    /// <summary>Creates an unfitted model.</summary>
    /// <param name="nComponents">Number of states K &gt; 0.</param>
    /// <param name="covarianceType">Covariance parameterisation (default diag, like hmmlearn).</param>
    /// <param name="nFeatures">Features per observation D, or 0 to set it later (by <see cref="Means"/> or
    /// <see cref="Fit(ReadOnlySpan{double}, int, ReadOnlySpan{int})"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range or the covariance type is unknown.</exception>
    public GaussianHmm(int nComponents, CovarianceType covarianceType = CovarianceType.Diag, int nFeatures = 0) : base(nComponents, "stmc")
    {
        if (!Enum.IsDefined(covarianceType))
            throw new ArgumentOutOfRangeException(nameof(covarianceType), covarianceType, "covarianceType must be spherical, diag, full or tied.");
        if (nFeatures < 0) throw new ArgumentOutOfRangeException(nameof(nFeatures), nFeatures, $"nFeatures must be >= 0, got {nFeatures}.");
        CovarianceType = covarianceType;
        _nFeatures = nFeatures;
    }

    /// <summary>
    /// Fits x [N*D] with D = <paramref name="nFeatures"/>; see <see cref="HiddenMarkovModel{TObs}.Fit"/>.
    /// </summary>
    /// <exception cref="ArgumentException">D differs from the model's, or bad shapes, lengths or values.</exception>
    public GaussianHmm Fit(ReadOnlySpan<double> x, int nFeatures, ReadOnlySpan<int> lengths = default)
    {
        Validate.Positive(nFeatures, nameof(nFeatures));
        if (_nFeatures != 0 && _nFeatures != nFeatures)
            throw new ArgumentException($"nFeatures: the model has D = {_nFeatures} features, got {nFeatures}.", nameof(nFeatures));
        int saved = _nFeatures;
        _nFeatures = nFeatures;
        try { Fit(x, lengths); }
        catch { _nFeatures = saved; throw; }
        return this;
    }

    /// <summary>The covariance parameterisation.</summary>
    public CovarianceType CovarianceType { get; }
    /// <summary>Floor on variances (default 1e-3): after an M-step a variance below it is raised to it, and a full or
    /// tied covariance with a conditional variance (Cholesky pivot) below it gets it added to its diagonal; both are
    /// reported in FitWarnings. Also added to the diagonal of a covariance whose factorisation fails when computing
    /// densities, as hmmlearn does.</summary>
    public double MinCovar { get; set; } = 1e-3;
    /// <summary>Mean of the normal prior on the means (default 0).</summary>
    public double MeansPrior { get; set; }
    /// <summary>Precision weight of the normal prior on the means (default 0: no prior).</summary>
    public double MeansWeight { get; set; }
    /// <summary>Prior on the covariances (inverse gamma / inverse Wishart scale; default 1e-2).</summary>
    public double CovarsPrior { get; set; } = 1e-2;
    /// <summary>Prior weight on the covariances (default 1).</summary>
    public double CovarsWeight { get; set; } = 1;

    /// <summary>Number of features D (0 until set).</summary>
    public int NFeatures => _nFeatures;
    /// <inheritdoc />
    public override int ValuesPerRow => _nFeatures > 0 ? _nFeatures : throw new InvalidOperationException("The number of features is not known yet: set Means or Fit first.");

    /// <summary>State means [K*D], row-major. Setting it fixes D = length / K.</summary>
    /// <exception cref="ArgumentException">Length not a positive multiple of K, or a value not finite.</exception>
    public double[]? Means
    {
        get => _means;
        set
        {
            if (value == null) { _means = null; return; }
            if (value.Length == 0 || value.Length % NComponents != 0)
                throw new ArgumentException($"Means: expected [K, D] = [{NComponents}, D] values, got {value.Length}.", nameof(Means));
            Validate.Finite<double>(value, nameof(Means));
            int d = value.Length / NComponents;
            if (_covars != null && _nFeatures != d)
                throw new ArgumentException($"Means: expected D = {_nFeatures} features (as the covariances), got {d}.", nameof(Means));
            _nFeatures = d;
            _means = (double[])value.Clone();
        }
    }

    /// <summary>Covariances in the compact shape of <see cref="CovarianceType"/>: spherical [K], diag [K*D], full [K*D*D], tied [D*D].
    /// Set <see cref="Means"/> first (it fixes D).</summary>
    /// <exception cref="ArgumentException">Wrong length, a variance &lt;= 0, or a matrix that is not symmetric positive definite.</exception>
    public double[]? Covars
    {
        get => _covars;
        set
        {
            if (value == null) { _covars = null; return; }
            if (_nFeatures == 0) throw new InvalidOperationException("Set Means before Covars: they fix the number of features.");
            int[] shape = CovarsShape(CovarianceType, NComponents, _nFeatures);
            long expected = shape.Aggregate(1L, (a, b) => a * b);
            if (value.Length != expected)
                throw new ArgumentException($"Covars: expected {expected} values ([{string.Join(", ", shape)}] for {CovarianceType}), got {value.Length}.", nameof(Covars));
            CheckCovars(value, nameof(Covars));
            _covars = (double[])value.Clone();
        }
    }

    /// <summary>The compact shape of the covariances of a covariance type (hmmlearn's).</summary>
    internal static int[] CovarsShape(CovarianceType type, int k, int d) => type switch
    {
        CovarianceType.Spherical => [k],
        CovarianceType.Diag => [k, d],
        CovarianceType.Full => [k, d, d],
        _ => [d, d],
    };

    /// <summary>Validates covariances through the native density (it checks positivity, symmetry and definiteness).</summary>
    private void CheckCovars(double[] covars, string name)
    {
        var probe = new double[_nFeatures];
        var means = new double[NComponents * _nFeatures];
        var outp = new double[NComponents];
        fixed (double* px = probe, pm = means, pc = covars, po = outp)
        {
            int rc = NativeMethods.hpc_hmm_gaussian_loglik((int)CovarianceType, NComponents, _nFeatures, 1, px, probe.Length, pm, means.Length, pc, covars.Length, MinCovar, po, outp.Length);
            if (rc != 0) throw new ArgumentException($"{name}: {NativeMethods.LastError()}", name);
        }
    }

    private protected override void CheckObservations(ReadOnlySpan<double> x, string name)
    {
        if (_nFeatures > 0 && x.Length % _nFeatures != 0)
            throw new ArgumentException($"{name}: expected [N, {_nFeatures}] values, got {x.Length} (not a multiple of {_nFeatures}).", name);
        Validate.Finite(x, name);
    }

    private protected override void CheckEmissionParameters()
    {
        if (_means == null || _covars == null)
            throw new InvalidOperationException("The model has no means/covars yet: Fit it or set them first.");
        if (!double.IsFinite(MinCovar) || MinCovar < 0)
            throw new ArgumentOutOfRangeException(nameof(MinCovar), MinCovar, $"MinCovar must be finite and >= 0, got {MinCovar}.");
        foreach (var (v, n) in new[] { (MeansPrior, nameof(MeansPrior)), (MeansWeight, nameof(MeansWeight)), (CovarsPrior, nameof(CovarsPrior)), (CovarsWeight, nameof(CovarsWeight)) })
            if (!double.IsFinite(v)) throw new ArgumentOutOfRangeException(n, v, $"{n} must be finite, got {v}.");
        if (MeansWeight < 0) throw new ArgumentOutOfRangeException(nameof(MeansWeight), MeansWeight, $"MeansWeight must be >= 0, got {MeansWeight}.");
    }

    private protected override void ComputeLogEmission(ReadOnlySpan<double> x, int n, Span<double> logB)
    {
        fixed (double* px = x, pm = _means, pc = _covars, po = logB)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_gaussian_loglik((int)CovarianceType, NComponents, _nFeatures, n, px, x.Length,
                pm, _means!.Length, pc, _covars!.Length, MinCovar, po, logB.Length));
    }

    // hpc_hmm_gaussian_viterbi_with_scratch: where it computes the densities inside the Viterbi pass
    // (hpc_hmm_gaussian_viterbi_fuses: spherical and diagonal covariances up to 16 states, 17 to 32 with the AVX2
    // kernels, 33 to 64 with N K >= 1,000,000; the same path and log-probabilities, bit for bit, as ComputeLogEmission
    // then hpc_hmm_viterbi; at K 64, D 1, 100,000 rows no [N, K] array of 51 MB written and read back) no scratch;
    // elsewhere the densities go to pooled scratch (the native call would allocate them per call) and are checked as
    // they are written, where hpc_hmm_viterbi would read them back from memory to check them (9 % of a K 32 decode of
    // 100,000 rows).
    private protected override void ViterbiFromObservations(ReadOnlySpan<double> x, int n, long* lengths, int nSeqs,
        double* startprob, double* transmat, long* path, double* seqLogprob)
    {
        int k = NComponents;
        bool fuses = NativeMethods.hpc_hmm_gaussian_viterbi_fuses((int)CovarianceType, k, n) != 0;
        using var scratch = new PooledArray<double>(fuses ? 0 : (long)n * k, nameof(x));
        fixed (double* px = x, pm = _means, pc = _covars, psc = scratch.Span)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_gaussian_viterbi_with_scratch((int)CovarianceType, k, _nFeatures, nSeqs,
                lengths, n, px, x.Length, pm, _means!.Length, pc, _covars!.Length, MinCovar, startprob, k, transmat, (long)k * k,
                path, n, seqLogprob, nSeqs, fuses ? null : psc, fuses ? 0 : scratch.Span.Length));
    }

    private protected override void InitEmission(ReadOnlySpan<double> x, int n, ulong seed)
    {
        int d = _nFeatures, k = NComponents;
        if (x.Length != (long)n * d)
            throw new ArgumentException($"x: expected [N, {d}] values, got {x.Length}.", nameof(x));
        if (NeedsInit('m', _means)) _means = KMeans.Fit(x, n, d, k, seed);
        if (NeedsInit('c', _covars))
        {
            // Covariance of the data plus min_covar on the diagonal, spread to the covariance type.
            var mean = new double[d];
            for (int r = 0; r < n; r++) for (int j = 0; j < d; j++) mean[j] += x[r * d + j] / n;
            var cv = new double[d * d];
            if (n > 1)
                for (int r = 0; r < n; r++)
                    for (int i = 0; i < d; i++)
                        for (int j = 0; j < d; j++) cv[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]) / (n - 1);
            for (int i = 0; i < d; i++) cv[i * d + i] += MinCovar;
            _covars = CovarianceType switch
            {
                CovarianceType.Spherical => Enumerable.Repeat(Enumerable.Range(0, d).Average(i => cv[i * d + i]), k).ToArray(),
                CovarianceType.Diag => Enumerable.Range(0, k * d).Select(i => cv[(i % d) * d + i % d]).ToArray(),
                CovarianceType.Full => Enumerable.Range(0, k).SelectMany(_ => cv).ToArray(),
                _ => cv,
            };
        }
    }

    private protected override void EmissionMStep(ReadOnlySpan<double> x, int n, ReadOnlySpan<double> post, List<string> warnings)
    {
        bool m = Params.Contains('m'), c = Params.Contains('c');
        if (!m && !c) return;
        int k = NComponents, d = _nFeatures;
        bool outer = CovarianceType is CovarianceType.Full or CovarianceType.Tied;
        var postSum = new double[k];
        var obs = new double[k * d];
        var obs2 = outer ? null : new double[k * d];
        var obsOuter = outer ? new double[k * d * d] : null;
        fixed (double* px = x, pp = post, ps = postSum, po = obs, po2 = obs2, poo = obsOuter)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_gaussian_stats(k, d, n, px, x.Length, pp, post.Length, ps, k, po, obs.Length,
                po2, obs2?.Length ?? 0, poo, obsOuter?.Length ?? 0));
        MStepFromStatistics(postSum, obs, obs2, obsOuter, warnings);
    }

    // Spherical and diagonal covariances: the E-step in one call (hpc_hmm_gaussian_e_step), which sums the statistics
    // inside the forward-backward pass instead of storing the [N, K] posteriors and reading them back (up to 64
    // states; at K 8, D 1, 100,000 rows 0.91x the time of the three calls in process, a fit iteration 0.90-0.95x end to
    // end, bench/results/2026-11-23-gaussian-e-step.md).
    // The statistics then differ from hpc_hmm_gaussian_stats's in their last bits (another order of summation).
    private double[]? _eStepPostSum, _eStepObs, _eStepObs2;

    /// <summary>Whether Fit takes the one-call E-step where it can (default); false: the three calls (tests compare).</summary>
    internal bool OneCallEStep { get; set; } = true;

    private protected override bool HasExpectation => OneCallEStep && (CovarianceType is CovarianceType.Spherical or CovarianceType.Diag);

    private protected override void Expectation(ReadOnlySpan<double> x, long[] lens, int n, Span<double> ll, Span<double> xi, Span<double> start)
    {
        int k = NComponents, d = _nFeatures;
        if (_eStepPostSum?.Length != k || _eStepObs?.Length != k * d)
        {
            _eStepPostSum = new double[k];
            _eStepObs = new double[k * d];
            _eStepObs2 = new double[k * d];
        }
        int mode = Implementation == HmmImplementation.Scaling ? 0 : 1;
        double[] means = _means!, covars = _covars!, sp = Startprob!, tm = Transmat!;
        fixed (long* pl = lens)
        fixed (double* px = x, pm = means, pc = covars, ps = sp, pt = tm, pll = ll, pxi = xi, pst = start, pps = _eStepPostSum,
               po = _eStepObs, po2 = _eStepObs2)
            Status.ThrowIfFailed(NativeMethods.hpc_hmm_gaussian_e_step(mode, (int)CovarianceType, k, d, lens.Length, pl, n, px, x.Length,
                pm, means.Length, pc, covars.Length, ps, k, pt, k * k, pll, ll.Length, pxi, xi.Length, pst, start.Length,
                pps, k, po, _eStepObs.Length, po2, _eStepObs2!.Length));
    }

    private protected override void EmissionMStepFromExpectation(List<string> warnings)
    {
        if (!Params.Contains('m') && !Params.Contains('c')) return;
        MStepFromStatistics(_eStepPostSum!, _eStepObs!, _eStepObs2, null, warnings);
    }

    // hmmlearn's M-step for the means and covariances from the statistics: post_sum [K], obs [K*D] and obs2 [K*D]
    // (spherical, diagonal) or obs_outer [K*D*D] (full, tied).
    private void MStepFromStatistics(double[] postSum, double[] obs, double[]? obs2, double[]? obsOuter, List<string> warnings)
    {
        bool m = Params.Contains('m'), c = Params.Contains('c');
        int k = NComponents, d = _nFeatures;
        bool outer = CovarianceType is CovarianceType.Full or CovarianceType.Tied;
        double mw = MeansWeight, mp = MeansPrior;
        var means = (double[])_means!.Clone();
        var empty = new bool[k];
        for (int s = 0; s < k; s++)
        {
            empty[s] = !(mw + postSum[s] > 0);
            if (empty[s])
            {
                warnings.Add($"state {s} received no posterior mass; kept its previous means and covariances");
                continue;
            }
            if (m)
                for (int j = 0; j < d; j++) means[s * d + j] = (mw * mp + obs[s * d + j]) / (mw + postSum[s]);
        }
        var covars = (double[])_covars!.Clone();
        if (c)
        {
            double cp = CovarsPrior, cw = CovarsWeight;
            if (!outer)
            {
                for (int s = 0; s < k; s++)
                {
                    if (empty[s]) continue;
                    double sum = 0;
                    for (int j = 0; j < d; j++)
                    {
                        double mu = means[s * d + j], diff = mu - mp;
                        double cn = mw * diff * diff + obs2![s * d + j] - 2 * mu * obs[s * d + j] + mu * mu * postSum[s];
                        double cd = Math.Max(cw - 1, 0) + postSum[s];
                        double v = (cp + cn) / Math.Max(cd, 1e-5);
                        if (CovarianceType == CovarianceType.Diag) covars[s * d + j] = Floor(v, $"covars[{s}][{j}]", warnings);
                        else sum += v;
                    }
                    if (CovarianceType == CovarianceType.Spherical) covars[s] = Floor(sum / d, $"covars[{s}]", warnings);
                }
            }
            else
            {
                var cn = new double[k * d * d];
                for (int s = 0; s < k; s++)
                    for (int i = 0; i < d; i++)
                        for (int j = 0; j < d; j++)
                        {
                            double mi = means[s * d + i], mj = means[s * d + j];
                            cn[(s * d + i) * d + j] = mw * (mi - mp) * (mj - mp) + obsOuter![(s * d + i) * d + j]
                                - obs[s * d + i] * mj - mi * obs[s * d + j] + mi * mj * postSum[s];
                        }
                double cvw = Math.Max(cw - d, 0);
                if (CovarianceType == CovarianceType.Tied)
                {
                    double total = postSum.Sum();
                    var t = new double[d * d];
                    for (int i = 0; i < d * d; i++)
                    {
                        double acc = 0;
                        for (int s = 0; s < k; s++) acc += cn[s * d * d + i];
                        t[i] = (cp + acc) / (cvw + total);
                    }
                    PositiveDefiniteOrKeep(t, covars, 0, "covars (tied)", warnings);
                }
                else
                {
                    for (int s = 0; s < k; s++)
                    {
                        if (empty[s]) continue;
                        var t = new double[d * d];
                        for (int i = 0; i < d * d; i++) t[i] = (cp + cn[s * d * d + i]) / (cvw + postSum[s]);
                        PositiveDefiniteOrKeep(t, covars, s * d * d, $"covars[{s}]", warnings);
                    }
                }
            }
        }
        _means = means;
        _covars = covars;
    }

    private double Floor(double v, string name, List<string> warnings)
    {
        if (v >= MinCovar && double.IsFinite(v)) return v;
        warnings.Add($"{name} = {v:G4} fell below min_covar; floored to {MinCovar:G4}");
        return MinCovar;
    }

    /// <summary>
    /// Writes the symmetrised matrix if every Cholesky pivot (a conditional variance) is at least min_covar — the
    /// full-matrix form of the variance floor. Otherwise adds min_covar to the diagonal (which lifts every
    /// eigenvalue, hence every pivot, by min_covar) and reports it; if even that fails, keeps the old matrix.
    /// A numerically singular matrix (fewer distinct points than dimensions in a state) is caught here: its
    /// factorisation may "succeed" with a pivot of 1e-16 that rounding alone decided.
    /// </summary>
    private void PositiveDefiniteOrKeep(double[] t, double[] dest, int offset, string name, List<string> warnings)
    {
        int d = _nFeatures;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) t[i * d + j] = t[j * d + i] = 0.5 * (t[i * d + j] + t[j * d + i]);
        if (Cholesky.MinPivot(t, d) >= MinCovar)
        {
            Array.Copy(t, 0, dest, offset, d * d);
            return;
        }
        for (int i = 0; i < d; i++) t[i * d + i] += MinCovar;
        if (Cholesky.MinPivot(t, d) > 0)
        {
            Array.Copy(t, 0, dest, offset, d * d);
            warnings.Add($"{name} was (nearly) singular; added min_covar = {MinCovar:G4} to its diagonal");
        }
        else warnings.Add($"{name} was not positive definite even with min_covar added; kept the previous matrix");
    }

    private protected override object CaptureEmission() => (_means?.Clone(), _covars?.Clone(), _nFeatures);

    private protected override void RestoreEmission(object state)
    {
        var (m, c, d) = ((object?, object?, int))state;
        _means = (double[]?)m;
        _covars = (double[]?)c;
        _nFeatures = d;
    }

    private protected override void SampleEmission(int state, ref SplitMix64 rng, Span<double> row)
    {
        int d = _nFeatures;
        Span<double> z = stackalloc double[d];
        for (int j = 0; j < d; j++) z[j] = rng.NextGaussian();
        switch (CovarianceType)
        {
            case CovarianceType.Spherical:
                for (int j = 0; j < d; j++) row[j] = _means![state * d + j] + Math.Sqrt(_covars![state]) * z[j];
                break;
            case CovarianceType.Diag:
                for (int j = 0; j < d; j++) row[j] = _means![state * d + j] + Math.Sqrt(_covars![state * d + j]) * z[j];
                break;
            default:
                var l = Cholesky.Factor(_covars!.AsSpan(CovarianceType == CovarianceType.Tied ? 0 : state * d * d, d * d), d);
                for (int i = 0; i < d; i++)
                {
                    double v = _means![state * d + i];
                    for (int j = 0; j <= i; j++) v += l[i * d + j] * z[j];
                    row[i] = v;
                }
                break;
        }
    }
}

/// <summary>Small dense Cholesky helpers for D x D covariances.</summary>
internal static class Cholesky
{
    /// <summary>The smallest squared pivot of the factorisation (the smallest conditional variance), or
    /// -infinity when the matrix is not positive definite.</summary>
    public static double MinPivot(ReadOnlySpan<double> a, int d)
    {
        double[] l;
        try { l = Factor(a, d); }
        catch (ArgumentException) { return double.NegativeInfinity; }
        double m = double.PositiveInfinity;
        for (int i = 0; i < d; i++) m = Math.Min(m, l[i * d + i] * l[i * d + i]);
        return m;
    }

    /// <summary>Lower-triangular L with L L^T = a; throws when a is not positive definite.</summary>
    public static double[] Factor(ReadOnlySpan<double> a, int d)
    {
        var l = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * d + j];
                for (int k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
                if (i == j)
                {
                    if (!(s > 0)) throw new ArgumentException("matrix is not positive definite");
                    l[i * d + i] = Math.Sqrt(s);
                }
                else l[i * d + j] = s / l[j * d + j];
            }
        return l;
    }
}

/// <summary>Seeded k-means (k-means++ seeding, then Lloyd's iterations) for initialising the means.</summary>
internal static class KMeans
{
    public static double[] Fit(ReadOnlySpan<double> x, int n, int d, int k, ulong seed, int maxIter = 100)
    {
        var rng = new SplitMix64(seed);
        var centers = new double[k * d];
        var dist = new double[n];
        int first = (int)(rng.NextDouble() * n);
        x.Slice(first * d, d).CopyTo(centers.AsSpan(0, d));
        for (int c = 1; c < k; c++)
        {
            double total = 0;
            for (int r = 0; r < n; r++)
            {
                double best = double.PositiveInfinity;
                for (int q = 0; q < c; q++) best = Math.Min(best, Sq(x.Slice(r * d, d), centers.AsSpan(q * d, d)));
                dist[r] = best;
                total += best;
            }
            int pick = n - 1;
            if (total > 0)
            {
                double u = rng.NextDouble() * total, acc = 0;
                for (int r = 0; r < n; r++) { acc += dist[r]; if (u < acc) { pick = r; break; } }
            }
            else pick = (int)(rng.NextDouble() * n);
            x.Slice(pick * d, d).CopyTo(centers.AsSpan(c * d, d));
        }
        var assign = new int[n];
        Array.Fill(assign, -1);
        var sums = new double[k * d];
        var counts = new int[k];
        for (int it = 0; it < maxIter; it++)
        {
            bool changed = false;
            for (int r = 0; r < n; r++)
            {
                int best = 0;
                double bd = double.PositiveInfinity;
                for (int q = 0; q < k; q++)
                {
                    double v = Sq(x.Slice(r * d, d), centers.AsSpan(q * d, d));
                    if (v < bd) { bd = v; best = q; }
                }
                if (assign[r] != best) { assign[r] = best; changed = true; }
            }
            if (!changed) break;
            Array.Clear(sums);
            Array.Clear(counts);
            for (int r = 0; r < n; r++)
            {
                counts[assign[r]]++;
                for (int j = 0; j < d; j++) sums[assign[r] * d + j] += x[r * d + j];
            }
            for (int q = 0; q < k; q++)
                if (counts[q] > 0)  // an empty cluster keeps its centre
                    for (int j = 0; j < d; j++) centers[q * d + j] = sums[q * d + j] / counts[q];
        }
        return centers;
    }

    private static double Sq(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) { double t = a[i] - b[i]; s += t * t; }
        return s;
    }
}
