namespace Hpc.Training;

/// <summary>
/// A learning-rate schedule stepped once per epoch, with PyTorch's lr_scheduler semantics: <see cref="Step"/> after
/// the epoch's optimizer steps moves <see cref="Lr"/> to the next epoch's value.
/// </summary>
public abstract class LearningRateSchedule
{
    private protected LearningRateSchedule(double baseLr)
    {
        if (!double.IsFinite(baseLr) || baseLr < 0) throw new ArgumentOutOfRangeException(nameof(baseLr), baseLr, $"baseLr must be finite and >= 0, got {baseLr}.");
        BaseLr = baseLr;
        Lr = baseLr;
    }

    /// <summary>The initial learning rate.</summary>
    public double BaseLr { get; }
    /// <summary>The learning rate for the current epoch.</summary>
    public double Lr { get; private protected set; }
    /// <summary>Epochs completed.</summary>
    public int Epoch { get; private protected set; }

    /// <summary>Ends an epoch; <paramref name="metric"/> is used only by <see cref="ReduceLrOnPlateau"/>.</summary>
    public virtual double Step(double metric = double.NaN)
    {
        Epoch++;
        Lr = Compute(Epoch);
        return Lr;
    }

    private protected virtual double Compute(int epoch) => Lr;
}

/// <summary>Multiplies the rate by <c>gamma</c> every <c>stepSize</c> epochs (StepLR).</summary>
public sealed class StepDecay : LearningRateSchedule
{
    private readonly int _stepSize;
    private readonly double _gamma;

    /// <summary>Creates the schedule.</summary>
    public StepDecay(double baseLr, int stepSize, double gamma = 0.1) : base(baseLr)
    {
        Validate.Positive(stepSize, nameof(stepSize));
        if (!double.IsFinite(gamma) || gamma <= 0) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"gamma must be > 0, got {gamma}.");
        (_stepSize, _gamma) = (stepSize, gamma);
    }

    private protected override double Compute(int epoch) => epoch % _stepSize == 0 ? Lr * _gamma : Lr;
}

/// <summary>Multiplies the rate by <c>gamma</c> every epoch (ExponentialLR).</summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    private readonly double _gamma;

    /// <summary>Creates the schedule.</summary>
    public ExponentialDecay(double baseLr, double gamma) : base(baseLr)
    {
        if (!double.IsFinite(gamma) || gamma <= 0) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"gamma must be > 0, got {gamma}.");
        _gamma = gamma;
    }

    private protected override double Compute(int epoch) => Lr * _gamma;
}

/// <summary>Cosine annealing from the base rate to <c>etaMin</c> over <c>tMax</c> epochs (CosineAnnealingLR, closed form).</summary>
public sealed class CosineAnnealing : LearningRateSchedule
{
    private readonly int _tMax;
    private readonly double _etaMin;

    /// <summary>Creates the schedule.</summary>
    public CosineAnnealing(double baseLr, int tMax, double etaMin = 0) : base(baseLr)
    {
        Validate.Positive(tMax, nameof(tMax));
        if (!(etaMin >= 0 && etaMin <= baseLr))
            throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, $"etaMin must be in [0, baseLr = {baseLr}], got {etaMin}.");
        (_tMax, _etaMin) = (tMax, etaMin);
    }

    // PyTorch's recursive form; it equals eta_min + (base - eta_min)(1 + cos(pi t / T)) / 2 and continues past T.
    private protected override double Compute(int e)
    {
        if ((e - 1 - _tMax) % (2 * _tMax) == 0)
            return Lr + (BaseLr - _etaMin) * (1 - Math.Cos(Math.PI / _tMax)) / 2;
        return (1 + Math.Cos(Math.PI * e / _tMax)) / (1 + Math.Cos(Math.PI * (e - 1) / _tMax)) * (Lr - _etaMin) + _etaMin;
    }
}

/// <summary>Cyclical learning rate, triangular policy (CyclicLR mode="triangular", stepped per epoch here).</summary>
public sealed class CyclicalTriangular : LearningRateSchedule
{
    private readonly double _maxLr;
    private readonly int _stepSizeUp;

    /// <summary>Creates the schedule; it starts at <paramref name="baseLr"/>.</summary>
    public CyclicalTriangular(double baseLr, double maxLr, int stepSizeUp) : base(baseLr)
    {
        Validate.Positive(stepSizeUp, nameof(stepSizeUp));
        if (!(maxLr >= baseLr)) throw new ArgumentOutOfRangeException(nameof(maxLr), maxLr, $"maxLr must be >= baseLr ({baseLr}), got {maxLr}.");
        (_maxLr, _stepSizeUp) = (maxLr, stepSizeUp);
    }

    private protected override double Compute(int e)
    {
        double total = 2.0 * _stepSizeUp;
        double cycle = Math.Floor(1 + e / total);
        double x = 1.0 + e / total - cycle;
        double scale = x <= 0.5 ? x / 0.5 : (x - 1) / (0.5 - 1);
        return BaseLr + (_maxLr - BaseLr) * scale;
    }
}

/// <summary>Reduces the rate by <c>factor</c> when a metric (lower is better) stops improving (ReduceLROnPlateau,
/// mode "min", relative threshold).</summary>
public sealed class ReduceLrOnPlateau : LearningRateSchedule
{
    private readonly double _factor, _threshold, _minLr;
    private readonly int _patience, _cooldown;
    private double _best = double.PositiveInfinity;
    private int _bad, _cooldownLeft;

    /// <summary>Creates the schedule.</summary>
    public ReduceLrOnPlateau(double baseLr, double factor = 0.1, int patience = 10, double threshold = 1e-4, int cooldown = 0, double minLr = 0)
        : base(baseLr)
    {
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, $"factor must be in (0, 1), got {factor}.");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"patience must be >= 0, got {patience}.");
        (_factor, _patience, _threshold, _cooldown, _minLr) = (factor, patience, threshold, cooldown, minLr);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The metric is NaN or infinite.</exception>
    public override double Step(double metric = double.NaN)
    {
        if (!double.IsFinite(metric)) throw new ArgumentException($"metric: expected a finite value, got {metric}.", nameof(metric));
        Epoch++;
        if (metric < _best * (1 - _threshold)) { _best = metric; _bad = 0; }
        else _bad++;
        if (_cooldownLeft > 0) { _cooldownLeft--; _bad = 0; }
        if (_bad > _patience)
        {
            double reduced = Math.Max(Lr * _factor, _minLr);
            if (Lr - reduced > 1e-8) Lr = reduced;
            _cooldownLeft = _cooldown;
            _bad = 0;
        }
        return Lr;
    }
}

/// <summary>
/// Early stopping on a validation metric (lower is better): stops after <c>patience</c> epochs without an
/// improvement of more than <c>minDelta</c> and keeps a copy of the best parameters to restore.
/// </summary>
public sealed class EarlyStopping
{
    private readonly int _patience;
    private readonly double _minDelta;
    private int _wait;
    private double[][]? _best;

    /// <summary>Creates the rule.</summary>
    public EarlyStopping(int patience, double minDelta = 0)
    {
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"patience must be >= 0, got {patience}.");
        if (!double.IsFinite(minDelta) || minDelta < 0) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"minDelta must be >= 0, got {minDelta}.");
        (_patience, _minDelta) = (patience, minDelta);
    }

    /// <summary>The best metric so far.</summary>
    public double BestMetric { get; private set; } = double.PositiveInfinity;
    /// <summary>The epoch (1-based) of the best metric.</summary>
    public int BestEpoch { get; private set; }
    /// <summary>Whether training should stop.</summary>
    public bool ShouldStop { get; private set; }

    /// <summary>Records an epoch's metric; copies the parameters when it is the best so far.</summary>
    /// <returns>True when training should stop.</returns>
    public bool Update<T>(int epoch, double metric, IReadOnlyList<ParameterTensor<T>> parameters) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (double.IsNaN(metric)) throw new ArgumentException("metric: expected a number, got NaN.", nameof(metric));
        if (metric < BestMetric - _minDelta)
        {
            BestMetric = metric;
            BestEpoch = epoch;
            _wait = 0;
            _best = parameters.Select(p => p.Value.Select(v => double.CreateChecked(v)).ToArray()).ToArray();
        }
        else if (++_wait > _patience) ShouldStop = true;
        return ShouldStop;
    }

    /// <summary>Copies the best parameters back.</summary>
    /// <exception cref="InvalidOperationException">No epoch was recorded.</exception>
    public void RestoreBest<T>(IReadOnlyList<ParameterTensor<T>> parameters) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (_best == null) throw new InvalidOperationException("No metric was recorded, so there are no best parameters.");
        for (int i = 0; i < parameters.Count; i++)
            for (int j = 0; j < _best[i].Length; j++) parameters[i].Value[j] = T.CreateChecked(_best[i][j]);
    }
}
