using System.Numerics;
using Hpc.Interop;

namespace Hpc.Training;

/// <summary>
/// An optimizer whose update runs natively over every tensor of a <see cref="ParameterSet{T}"/> in one call.
/// Update rules and defaults follow PyTorch 1.13's <c>torch.optim</c> (non-amsgrad, non-centered); an optional
/// L1 penalty adds <c>l1 * sign(param)</c> to the gradient. A steady-state <see cref="Step"/> allocates nothing.
/// </summary>
public abstract unsafe class Optimizer<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _algorithm;
    private OptimHParams _h;
    private readonly nint[]? _state1, _state2;

    private protected Optimizer(ParameterSet<T> parameters, int algorithm, OptimHParams h, bool state1, bool state2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        _algorithm = algorithm;
        _h = h;
        Check(h.Lr, nameof(h.Lr), 0, double.PositiveInfinity);
        Check(h.WeightDecay, "weightDecay", 0, double.PositiveInfinity);
        Check(h.L1, "l1", 0, double.PositiveInfinity);
        Check(h.Eps, "eps", 0, double.PositiveInfinity);
        if (state1) _state1 = Allocate();
        if (state2) _state2 = Allocate();
    }

    private nint[] Allocate()
    {
        var ptrs = GC.AllocateArray<nint>(Parameters.Tensors.Count, pinned: true);
        for (int i = 0; i < ptrs.Length; i++) ptrs[i] = Parameters.Pin(new T[Parameters.Tensors[i].Value.Length]);
        return ptrs;
    }

    private protected static void Check(double v, string name, double lo, double hi, bool hiOpen = false)
    {
        if (!double.IsFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi))
            throw new ArgumentOutOfRangeException(name, v, $"{name} must be in [{lo}, {(double.IsInfinity(hi) ? "inf" : hi)}{(hiOpen ? ")" : "]")}, got {v}.");
    }

    /// <summary>The tensors this optimizer updates.</summary>
    public ParameterSet<T> Parameters { get; }

    /// <summary>The learning rate; schedules change it between steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or not finite.</exception>
    public double LearningRate
    {
        get => _h.Lr;
        set { Check(value, nameof(LearningRate), 0, double.PositiveInfinity); _h.Lr = value; }
    }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update to every tensor from its current gradient.</summary>
    public void Step()
    {
        long step = StepCount + 1;
        fixed (OptimHParams* ph = &_h)
        fixed (nint* pv = Parameters.Values, pg = Parameters.Grads, ps1 = _state1, ps2 = _state2)
        fixed (long* pl = Parameters.Lengths)
            Status.ThrowIfFailed(NativeMethods.hpc_optim_step(_algorithm, Validate.DTypeOf<T>(), ph, step, Parameters.Values.Length, pv, pg, ps1, ps2, pl));
        StepCount = step;
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad() => Parameters.ZeroGrad();

    /// <summary>Unpins the parameter tensors and the state.</summary>
    public void Dispose()
    {
        Parameters.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, L2 and L1 (torch.optim.SGD).</summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range; Nesterov needs momentum &gt; 0 and dampening 0.</exception>
    public Sgd(ParameterSet<T> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, double l1 = 0)
        : base(parameters, 1, new OptimHParams { Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov ? 1 : 0, L1 = l1 },
            state1: momentum != 0, state2: false)
    {
        Check(momentum, nameof(momentum), 0, double.PositiveInfinity);
        Check(dampening, nameof(dampening), 0, 1);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentOutOfRangeException(nameof(nesterov), "Nesterov momentum requires momentum > 0 and dampening = 0.");
    }
}

/// <summary>RMSProp (torch.optim.RMSprop, non-centered).</summary>
public sealed class RmsProp<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public RmsProp(ParameterSet<T> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, double l1 = 0)
        : base(parameters, 2, new OptimHParams { Lr = lr, Alpha = alpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, L1 = l1 },
            state1: true, state2: momentum > 0)
    {
        Check(alpha, nameof(alpha), 0, 1);
        Check(momentum, nameof(momentum), 0, double.PositiveInfinity);
    }
}

/// <summary>Adam (torch.optim.Adam; weight decay is L2 added to the gradient).</summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public Adam(ParameterSet<T> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, double l1 = 0)
        : base(parameters, 3, new OptimHParams { Lr = lr, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay, L1 = l1 },
            state1: true, state2: true)
    {
        Check(beta1, nameof(beta1), 0, 1, hiOpen: true);
        Check(beta2, nameof(beta2), 0, 1, hiOpen: true);
    }
}

/// <summary>AdamW (torch.optim.AdamW; decoupled weight decay, default 1e-2).</summary>
public sealed class AdamW<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public AdamW(ParameterSet<T> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 1e-2, double l1 = 0)
        : base(parameters, 4, new OptimHParams { Lr = lr, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay, L1 = l1 },
            state1: true, state2: true)
    {
        Check(beta1, nameof(beta1), 0, 1, hiOpen: true);
        Check(beta2, nameof(beta2), 0, 1, hiOpen: true);
    }
}

/// <summary>Adagrad (torch.optim.Adagrad).</summary>
public sealed class Adagrad<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public Adagrad(ParameterSet<T> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, double l1 = 0)
        : base(parameters, 5, new OptimHParams { Lr = lr, LrDecay = lrDecay, WeightDecay = weightDecay, InitialAccumulatorValue = initialAccumulatorValue, Eps = eps, L1 = l1 },
            state1: true, state2: false)
    {
        Check(lrDecay, nameof(lrDecay), 0, double.PositiveInfinity);
        Check(initialAccumulatorValue, nameof(initialAccumulatorValue), 0, double.PositiveInfinity);
    }
}

/// <summary>Gradient clipping over a whole parameter set in one native call.</summary>
public static unsafe class GradientClipping
{
    /// <summary>
    /// Scales all gradients so that their joint norm is at most <paramref name="maxNorm"/>
    /// (torch.nn.utils.clip_grad_norm_) and returns the norm before clipping.
    /// </summary>
    /// <param name="parameters">The tensors.</param>
    /// <param name="maxNorm">Largest allowed norm, &gt; 0.</param>
    /// <param name="normType">2 or <see cref="double.PositiveInfinity"/>.</param>
    /// <exception cref="ArgumentException">maxNorm or normType out of range.</exception>
    public static double ClipGradNorm<T>(ParameterSet<T> parameters, double maxNorm, double normType = 2) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double total;
        fixed (nint* pg = parameters.Grads)
        fixed (long* pl = parameters.Lengths)
            Status.ThrowIfFailed(NativeMethods.hpc_clip_grad_norm(Validate.DTypeOf<T>(), parameters.Grads.Length, pg, pl, maxNorm, normType, &total));
        return total;
    }

    /// <summary>The joint 2-norm of all gradients, without changing them.</summary>
    public static double GradNorm<T>(ParameterSet<T> parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        ClipGradNorm(parameters, double.MaxValue);

    /// <summary>Clamps every gradient element to [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_).</summary>
    /// <exception cref="ArgumentException">clipValue is negative or not finite.</exception>
    public static void ClipGradValue<T>(ParameterSet<T> parameters, double clipValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        fixed (nint* pg = parameters.Grads)
        fixed (long* pl = parameters.Lengths)
            Status.ThrowIfFailed(NativeMethods.hpc_clip_grad_value(Validate.DTypeOf<T>(), parameters.Grads.Length, pg, pl, clipValue));
    }
}
