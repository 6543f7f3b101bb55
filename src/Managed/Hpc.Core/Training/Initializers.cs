using System.Numerics;

namespace Hpc.Training;

/// <summary>Recurrent weight initialisation schemes.</summary>
public enum RecurrentInit
{
    /// <summary>PyTorch's default: every parameter from U(-1/sqrt(H), 1/sqrt(H)).</summary>
    PyTorchDefault,
    /// <summary>Glorot/Xavier uniform input weights, orthogonal recurrent weights (per gate), zero biases (Keras's default).</summary>
    GlorotOrthogonal,
}

/// <summary>Seeded weight initialisers (deterministic for a seed on every platform). Fans must be positive and gains
/// finite: they throw <see cref="ArgumentOutOfRangeException"/> otherwise.</summary>
public static class Initializers
{
    private static void CheckFan(int fan, string name) => Validate.Positive(fan, name);

    private static void CheckGain(double gain)
    {
        if (!double.IsFinite(gain)) throw new ArgumentOutOfRangeException(nameof(gain), gain, $"gain must be finite, got {gain}.");
    }

    /// <summary>Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)).</summary>
    public static void GlorotUniform<T>(Span<T> w, int fanIn, int fanOut, ulong seed, double gain = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFan(fanIn, nameof(fanIn));
        CheckFan(fanOut, nameof(fanOut));
        CheckGain(gain);
        double a = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        var rng = new SplitMix64(seed);
        for (int i = 0; i < w.Length; i++) w[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * a);
    }

    /// <summary>Glorot/Xavier normal: N(0, gain^2 * 2 / (fanIn + fanOut)).</summary>
    public static void GlorotNormal<T>(Span<T> w, int fanIn, int fanOut, ulong seed, double gain = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFan(fanIn, nameof(fanIn));
        CheckFan(fanOut, nameof(fanOut));
        CheckGain(gain);
        double sd = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
        var rng = new SplitMix64(seed);
        for (int i = 0; i < w.Length; i++) w[i] = T.CreateChecked(rng.NextGaussian() * sd);
    }

    /// <summary>He/Kaiming uniform for relu: U(-a, a), a = sqrt(6 / fanIn).</summary>
    public static void HeUniform<T>(Span<T> w, int fanIn, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFan(fanIn, nameof(fanIn));
        double a = Math.Sqrt(6.0 / fanIn);
        var rng = new SplitMix64(seed);
        for (int i = 0; i < w.Length; i++) w[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * a);
    }

    /// <summary>He/Kaiming normal for relu: N(0, 2 / fanIn).</summary>
    public static void HeNormal<T>(Span<T> w, int fanIn, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFan(fanIn, nameof(fanIn));
        double sd = Math.Sqrt(2.0 / fanIn);
        var rng = new SplitMix64(seed);
        for (int i = 0; i < w.Length; i++) w[i] = T.CreateChecked(rng.NextGaussian() * sd);
    }

    /// <summary>A (semi-)orthogonal rows x cols matrix times gain, by Gram-Schmidt on a Gaussian matrix.</summary>
    public static void Orthogonal<T>(Span<T> w, int rows, int cols, ulong seed, double gain = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFan(rows, nameof(rows));
        CheckFan(cols, nameof(cols));
        CheckGain(gain);
        if (w.Length != rows * cols) throw new ArgumentException($"w: expected {rows * cols} values, got {w.Length}.", nameof(w));
        bool transpose = rows < cols;  // orthonormalise the longer side's vectors
        int n = transpose ? rows : cols, m = transpose ? cols : rows;  // n vectors of length m
        var rng = new SplitMix64(seed);
        var q = new double[n * m];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextGaussian();
        for (int v = 0; v < n; v++)
        {
            for (int pass = 0; pass < 2; pass++)  // re-orthogonalise once for accuracy
                for (int u = 0; u < v; u++)
                {
                    double dot = 0;
                    for (int i = 0; i < m; i++) dot += q[v * m + i] * q[u * m + i];
                    for (int i = 0; i < m; i++) q[v * m + i] -= dot * q[u * m + i];
                }
            double norm = 0;
            for (int i = 0; i < m; i++) norm += q[v * m + i] * q[v * m + i];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < m; i++) q[v * m + i] /= norm;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w[r * cols + c] = T.CreateChecked(gain * (transpose ? q[r * m + c] : q[c * m + r]));
    }

    /// <summary>
    /// Initialises a recurrent module: <paramref name="scheme"/> for the weights, then the forget-gate biases of
    /// LSTM cells (b_ih + b_hh for gate f) set to <paramref name="forgetBias"/> when given. <paramref name="scale"/>
    /// multiplies every weight (a large scale is how the exploding-gradient lesson is set up).
    /// </summary>
    public static void InitializeRecurrent<T>(RecurrentModule<T> m, RecurrentInit scheme, ulong seed, double? forgetBias = null, double scale = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(m);
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"scale must be finite, got {scale}.");
        if (forgetBias is double fb && !double.IsFinite(fb))
            throw new ArgumentOutOfRangeException(nameof(forgetBias), fb, $"forgetBias must be finite, got {fb}.");
        if (!Enum.IsDefined(scheme)) throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "scheme must be a defined RecurrentInit.");
        int h = m.HiddenSize;
        int g = m.Cell switch { RecurrentCell.Lstm or RecurrentCell.LstmPeephole => 4, RecurrentCell.Gru => 3, _ => 1 };
        if (scheme == RecurrentInit.PyTorchDefault) m.ResetParameters(seed);
        ulong s = seed;
        foreach (var p in m.ParameterInfos)
        {
            var v = m.Parameter(p.Name);
            s += 0x9E3779B97F4A7C15UL;
            if (scheme == RecurrentInit.GlorotOrthogonal)
            {
                if (p.Name.StartsWith("weight_ih")) GlorotUniform(v, p.Shape[1], p.Shape[0], s);
                else if (p.Name.StartsWith("weight_hh"))
                    for (int gate = 0; gate < g; gate++) Orthogonal(v.Slice(gate * h * h, h * h), h, h, s + (ulong)gate);
                else v.Clear();
            }
            if (scale != 1 && p.Name.StartsWith("weight"))
                for (int i = 0; i < v.Length; i++) v[i] *= T.CreateChecked(scale);
            if (forgetBias.HasValue && g == 4 && p.Name.StartsWith("bias_ih"))
            {
                // b_ih + b_hh of gate f equals forgetBias: put it in b_ih, zero the b_hh part.
                v.Slice(h, h).Fill(T.CreateChecked(forgetBias.Value));
                m.Parameter(p.Name.Replace("bias_ih", "bias_hh")).Slice(h, h).Clear();
            }
        }
    }
}
