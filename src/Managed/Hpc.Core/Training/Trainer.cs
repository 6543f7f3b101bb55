using System.Diagnostics;
using System.Numerics;

namespace Hpc.Training;

/// <summary>Metrics of one epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches.</param>
/// <param name="TrainAccuracy">Training accuracy (NaN for regression).</param>
/// <param name="ValidationLoss">Loss on the validation split (NaN without one).</param>
/// <param name="ValidationAccuracy">Validation accuracy (NaN for regression or without a split).</param>
/// <param name="GradNorm">Mean global gradient norm before clipping.</param>
/// <param name="LearningRate">Learning rate used in the epoch.</param>
/// <param name="Elapsed">Wall time of the epoch.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy,
    double GradNorm, double LearningRate, TimeSpan Elapsed);

/// <summary>Options of <see cref="Trainer.Fit"/>.</summary>
public sealed class TrainingOptions
{
    /// <summary>Epochs (default 10).</summary>
    public int Epochs { get; set; } = 10;
    /// <summary>Samples per mini-batch (default 32).</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Fraction of samples held out for validation, taken from the end before shuffling, as Keras does (default 0).</summary>
    public double ValidationSplit { get; set; }
    /// <summary>Seed of the shuffling.</summary>
    public ulong Seed { get; set; }
    /// <summary>Shuffle the training samples every epoch (default true).</summary>
    public bool Shuffle { get; set; } = true;
    /// <summary>Clip the global gradient norm to this (0: off).</summary>
    public double ClipNorm { get; set; }
    /// <summary>Clip every gradient value to ±this (0: off).</summary>
    public double ClipValue { get; set; }
    /// <summary>Learning-rate schedule stepped after each epoch (ReduceLrOnPlateau gets the validation loss, or the training loss).</summary>
    public LearningRateSchedule? Schedule { get; set; }
    /// <summary>Early stopping on the validation loss (or the training loss); restores the best weights at the end.</summary>
    public EarlyStopping? EarlyStopping { get; set; }
    /// <summary>Records gradient norms every step.</summary>
    public GradientDiagnostics? Diagnostics { get; set; }
    /// <summary>One line per epoch is written here; null is quiet.</summary>
    public TextWriter? Log { get; set; }
    /// <summary>Called after every batch with (epoch, batch, batches, loss): drive a progress bar from it.</summary>
    public Action<int, int, int, double>? OnBatch { get; set; }
    /// <summary>Called after every epoch; returning true stops training.</summary>
    public Func<EpochMetrics, bool>? OnEpoch { get; set; }
}

/// <summary>What <see cref="Trainer.Fit"/> did.</summary>
public sealed class TrainingHistory
{
    /// <summary>Every epoch's metrics.</summary>
    public List<EpochMetrics> Epochs { get; } = [];
    /// <summary>Whether early stopping (or a callback) ended training before the last epoch.</summary>
    public bool StoppedEarly { get; internal set; }
    /// <summary>The epoch whose weights the model holds at the end (the best one under early stopping).</summary>
    public int FinalWeightsEpoch { get; internal set; }
}

/// <summary>Mini-batch training of a <see cref="Sequential{T}"/> model.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> on N samples: x holds N samples of shape <paramref name="sample"/> (its Batch
    /// is ignored), targets holds each sample's targets (<see cref="Losses.TargetLength"/> values per sample).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that do not fit the shapes, or options out of range.</exception>
    public static TrainingHistory Fit<T>(Sequential<T> model, Optimizer<T> optimizer, LossKind loss, ReadOnlySpan<T> x, Shape sample,
        ReadOnlySpan<T> targets, TrainingOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        Validate.Positive(options.Epochs, nameof(options.Epochs));
        Validate.Positive(options.BatchSize, nameof(options.BatchSize));
        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"ValidationSplit must be in [0, 1), got {options.ValidationSplit}.");
        if (!(options.ClipNorm >= 0) || !(options.ClipValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(options), "ClipNorm and ClipValue must be >= 0.");
        var one = sample with { Batch = 1 };
        int perSample = one.Length;
        if (x.Length == 0 || x.Length % perSample != 0)
            throw new ArgumentException($"x: expected N samples of {perSample} values (shape {one}), got {x.Length} values.", nameof(x));
        int n = x.Length / perSample;
        int perTarget = Losses.TargetLength(loss, model.OutputShape(one));
        if (targets.Length != n * perTarget)
            throw new ArgumentException($"targets: expected {n} samples x {perTarget} values = {n * perTarget}, got {targets.Length}.", nameof(targets));
        int nVal = (int)(n * options.ValidationSplit), nTrain = n - nVal;
        if (nTrain == 0) throw new ArgumentException("ValidationSplit leaves no training samples.", nameof(options));

        options.Diagnostics?.Attach(model);
        var history = new TrainingHistory();
        var order = Enumerable.Range(0, nTrain).ToArray();
        var rng = new SplitMix64(options.Seed);
        int bs = Math.Min(options.BatchSize, nTrain);
        var xb = new T[bs * perSample];
        var tb = new T[bs * perTarget];
        T[] grad = [];
        var parameters = optimizer.Parameters;
        var xs = x.ToArray();
        var ts = targets.ToArray();
        int batches = (nTrain + bs - 1) / bs;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            if (options.Schedule != null) optimizer.LearningRate = options.Schedule.Lr;
            if (options.Shuffle)
                for (int i = nTrain - 1; i > 0; i--) { int j = (int)(rng.NextDouble() * (i + 1)); (order[i], order[j]) = (order[j], order[i]); }
            double lossSum = 0, accSum = 0, normSum = 0;
            int seen = 0;
            for (int b = 0; b < batches; b++)
            {
                int start = b * bs, count = Math.Min(bs, nTrain - start);
                for (int i = 0; i < count; i++)
                {
                    xs.AsSpan(order[start + i] * perSample, perSample).CopyTo(xb.AsSpan(i * perSample));
                    ts.AsSpan(order[start + i] * perTarget, perTarget).CopyTo(tb.AsSpan(i * perTarget));
                }
                var shape = sample with { Batch = count };
                var y = model.Forward(xb.AsSpan(0, count * perSample), shape, training: true);
                var outShape = model.OutputShape(shape);
                if (grad.Length < outShape.Length) grad = new T[outShape.Length];
                var g = grad.AsSpan(0, outShape.Length);
                double l = Losses.Compute(loss, y, outShape, tb.AsSpan(0, count * perTarget), g);
                double acc = Losses.Accuracy(loss, y, outShape, tb.AsSpan(0, count * perTarget));
                model.Backward(g);
                double norm = options.ClipNorm > 0 ? GradientClipping.ClipGradNorm(parameters, options.ClipNorm) : GradientClipping.GradNorm(parameters);
                if (options.ClipValue > 0) GradientClipping.ClipGradValue(parameters, options.ClipValue);
                options.Diagnostics?.Record(model, epoch, l, norm, options.ClipNorm > 0 ? Math.Min(norm, options.ClipNorm) : norm);
                optimizer.Step();
                lossSum += l * count;
                accSum += acc * count;
                normSum += norm;
                seen += count;
                options.OnBatch?.Invoke(epoch, b + 1, batches, l);
            }
            double valLoss = double.NaN, valAcc = double.NaN;
            if (nVal > 0) (valLoss, valAcc) = Evaluate(model, loss, xs.AsSpan(nTrain * perSample), sample, ts.AsSpan(nTrain * perTarget), options.BatchSize);
            var m = new EpochMetrics(epoch, lossSum / seen, accSum / seen, valLoss, valAcc, normSum / batches, optimizer.LearningRate, clock.Elapsed);
            history.Epochs.Add(m);
            history.FinalWeightsEpoch = epoch;
            options.Log?.WriteLine($"epoch {epoch}/{options.Epochs}: loss {m.TrainLoss:G5}" + (double.IsNaN(m.TrainAccuracy) ? "" : $", accuracy {m.TrainAccuracy:P1}") +
                (nVal > 0 ? $", val_loss {valLoss:G5}" + (double.IsNaN(valAcc) ? "" : $", val_accuracy {valAcc:P1}") : "") + $", grad norm {m.GradNorm:G3}, lr {m.LearningRate:G3}");
            double monitored = nVal > 0 ? valLoss : m.TrainLoss;
            options.Schedule?.Step(monitored);
            bool stop = options.OnEpoch?.Invoke(m) ?? false;
            if (options.EarlyStopping?.Update(epoch, monitored, parameters.Tensors) == true) stop = true;
            if (stop)
            {
                history.StoppedEarly = epoch < options.Epochs;
                break;
            }
        }
        if (options.EarlyStopping is { BestEpoch: > 0 } es)
        {
            es.RestoreBest(parameters.Tensors);
            history.FinalWeightsEpoch = es.BestEpoch;
        }
        return history;
    }

    /// <summary>Mean loss and accuracy of the model on samples, in inference mode.</summary>
    public static (double Loss, double Accuracy) Evaluate<T>(Sequential<T> model, LossKind loss, ReadOnlySpan<T> x, Shape sample, ReadOnlySpan<T> targets, int batchSize = 256)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var one = sample with { Batch = 1 };
        int perSample = one.Length, n = x.Length / perSample, perTarget = targets.Length / Math.Max(n, 1);
        double lossSum = 0, accSum = 0;
        T[] grad = [];
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            var shape = sample with { Batch = count };
            var y = model.Forward(x.Slice(start * perSample, count * perSample), shape);
            var os = model.OutputShape(shape);
            if (grad.Length < os.Length) grad = new T[os.Length];
            var t = targets.Slice(start * perTarget, count * perTarget);
            lossSum += Losses.Compute(loss, y, os, t, grad) * count;
            accSum += Losses.Accuracy(loss, y, os, t) * count;
        }
        return (lossSum / n, accSum / n);
    }
}
