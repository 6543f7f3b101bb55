using System.Numerics;
using System.Numerics.Tensors;

namespace Hpc.Training;

/// <summary>A loss over a batch of outputs: returns the mean loss and writes dLoss/doutput.</summary>
public enum LossKind
{
    /// <summary>Mean squared error over all values; targets have the output's shape.</summary>
    MeanSquaredError,
    /// <summary>Binary cross-entropy on logits (numerically stable); targets in [0, 1] with the output's shape.</summary>
    BinaryCrossEntropyWithLogits,
    /// <summary>Softmax cross-entropy on logits; one class index (as a value of T) per row: per sequence for [B, C]
    /// outputs, per time step for [B, T, C].</summary>
    SoftmaxCrossEntropy,
}

/// <summary>The losses, each with its gradient.</summary>
public static class Losses
{
    /// <summary>Number of target values a loss needs for an output shape.</summary>
    public static int TargetLength(LossKind kind, Shape output) => kind == LossKind.SoftmaxCrossEntropy ? output.Rows : output.Length;

    /// <summary>Computes the mean loss of <paramref name="output"/> against <paramref name="target"/> and writes the
    /// gradient into <paramref name="grad"/> (same length as output).</summary>
    /// <exception cref="ArgumentException">Lengths do not match, or a class index is out of range.</exception>
    public static double Compute<T>(LossKind kind, ReadOnlySpan<T> output, Shape shape, ReadOnlySpan<T> target, Span<T> grad)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = shape.Length;
        if (output.Length < n || grad.Length < n)
            throw new ArgumentException($"output: expected {n} values for shape {shape}, got {output.Length}.", nameof(output));
        int need = TargetLength(kind, shape);
        if (target.Length != need)
            throw new ArgumentException($"target: expected {need} values for a {kind} loss on outputs {shape}, got {target.Length}.", nameof(target));
        switch (kind)
        {
            case LossKind.MeanSquaredError:
            {
                double sum = 0, scale = 2.0 / n;
                for (int i = 0; i < n; i++)
                {
                    double d = double.CreateChecked(output[i] - target[i]);
                    sum += d * d;
                    grad[i] = T.CreateChecked(scale * d);
                }
                return sum / n;
            }
            case LossKind.BinaryCrossEntropyWithLogits:
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    double z = double.CreateChecked(output[i]), t = double.CreateChecked(target[i]);
                    sum += Math.Max(z, 0) - z * t + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                    grad[i] = T.CreateChecked((1 / (1 + Math.Exp(-z)) - t) / n);
                }
                return sum / n;
            }
            default:
            {
                int rows = shape.Rows, c = shape.Features;
                double sum = 0;
                for (int r = 0; r < rows; r++)
                {
                    var z = output.Slice(r * c, c);
                    int label = int.CreateTruncating(target[r]);
                    if (label < 0 || label >= c || T.CreateChecked(label) != target[r])
                        throw new ArgumentException($"target[{r}]: expected a class index in [0, {c}), got {target[r]}.", nameof(target));
                    double max = double.CreateChecked(TensorPrimitives.Max(z)), se = 0;
                    for (int j = 0; j < c; j++) se += Math.Exp(double.CreateChecked(z[j]) - max);
                    double logZ = max + Math.Log(se);
                    sum += logZ - double.CreateChecked(z[label]);
                    for (int j = 0; j < c; j++)
                        grad[r * c + j] = T.CreateChecked((Math.Exp(double.CreateChecked(z[j]) - logZ) - (j == label ? 1 : 0)) / rows);
                }
                return sum / rows;
            }
        }
    }

    /// <summary>Accuracy for classification losses (argmax for softmax, logit &gt; 0 for binary); NaN for MSE.</summary>
    public static double Accuracy<T>(LossKind kind, ReadOnlySpan<T> output, Shape shape, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (kind == LossKind.MeanSquaredError) return double.NaN;
        int correct = 0, total;
        if (kind == LossKind.BinaryCrossEntropyWithLogits)
        {
            total = shape.Length;
            for (int i = 0; i < total; i++) if ((output[i] > T.Zero) == (target[i] >= T.CreateChecked(0.5))) correct++;
        }
        else
        {
            total = shape.Rows;
            for (int r = 0; r < total; r++)
                if (TensorPrimitives.IndexOfMax(output.Slice(r * shape.Features, shape.Features)) == int.CreateTruncating(target[r])) correct++;
        }
        return (double)correct / total;
    }
}
