namespace Hpc.Hmm;

/// <summary>Covariance parameterisation of a Gaussian HMM (hmmlearn's <c>covariance_type</c>).</summary>
public enum CovarianceType
{
    /// <summary>One variance per state: covars [K].</summary>
    Spherical = 1,
    /// <summary>A diagonal covariance per state: covars [K, D].</summary>
    Diag = 2,
    /// <summary>A full covariance per state: covars [K, D, D].</summary>
    Full = 3,
    /// <summary>One full covariance shared by all states: covars [D, D].</summary>
    Tied = 4,
}

/// <summary>How forward-backward runs (hmmlearn's <c>implementation</c>).</summary>
public enum HmmImplementation
{
    /// <summary>
    /// Log space (hmmlearn's default). Each step is a shifted matrix product; where a product underflows (a state whose
    /// connected states all lie 645+ nats below one it is not connected to), the sequences of that thread's group are
    /// redone with hmmlearn's log-sum-exp of each term: slower, the same results.
    /// </summary>
    Log,
    /// <summary>
    /// Scaled probability space; falls back to log space for sequences whose steps cannot be scaled, and runs in log
    /// space whenever a transition is below 1e-100 (zeros: left-right models), where a state lost to underflow could be
    /// the only way to states that later explain the data.
    /// </summary>
    Scaling,
}

/// <summary>Decoder algorithm (hmmlearn's <c>algorithm</c>).</summary>
public enum DecoderAlgorithm
{
    /// <summary>Most likely state path.</summary>
    Viterbi,
    /// <summary>Most likely state at each step (maximum posterior).</summary>
    Map,
}

/// <summary>
/// Tracks EM convergence with hmmlearn's semantics: <see cref="History"/> holds the log-likelihood of the data under
/// the parameters each iteration started from (computed in its E-step); EM stops after <see cref="NIter"/>
/// iterations or when the last gain is below <see cref="Tol"/>.
/// </summary>
public sealed class ConvergenceMonitor
{
    private readonly List<double> _history = [];

    internal ConvergenceMonitor(double tol, int nIter)
    {
        Tol = tol;
        NIter = nIter;
    }

    /// <summary>Convergence threshold on the gain in log-likelihood.</summary>
    public double Tol { get; }
    /// <summary>Maximum number of iterations.</summary>
    public int NIter { get; }
    /// <summary>Log-likelihood of every iteration, oldest first.</summary>
    public IReadOnlyList<double> History => _history;
    /// <summary>Iterations run.</summary>
    public int Iter { get; private set; }
    /// <summary>True when <see cref="NIter"/> iterations ran or the last gain was below <see cref="Tol"/>.</summary>
    public bool Converged => Iter == NIter || (_history.Count >= 2 && _history[^1] - _history[^2] < Tol);

    internal void Report(double logprob)
    {
        _history.Add(logprob);
        Iter++;
    }
}
