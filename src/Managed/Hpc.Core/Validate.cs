using System.Numerics;
using System.Runtime.CompilerServices;

namespace Hpc;

/// <summary>Argument checks shared by every public call; each exception names the argument, expected and actual.</summary>
internal static class Validate
{
    internal static void Positive(long value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be > 0, got {value}.");
    }

    internal static void Length(int actual, long expected, string name, Dims shape)
    {
        if (actual != expected)
            throw new ArgumentException($"{name}: expected {expected} elements (shape {shape}), got {actual}.", name);
    }

    /// <summary>An optional span: empty means absent; otherwise it must have exactly <paramref name="expected"/> elements.</summary>
    internal static bool Optional(int actual, long expected, string name, Dims shape)
    {
        if (actual == 0) return false;
        Length(actual, expected, name, shape);
        return true;
    }

    /// <summary>Throws when any element is NaN or infinite, naming the first such index.</summary>
    internal static void Finite<T>(ReadOnlySpan<T> values, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (AllFinite(values)) return;
        for (int i = 0; i < values.Length; i++)
            if (!T.IsFinite(values[i]))
                throw new ArgumentException($"{name}[{i}] is {values[i]}: expected only finite values.", name);
    }

    /// <summary>
    /// Vectorised: x - x is 0 for finite x and NaN for NaN or ±Inf. Four sums: one chain of dependent adds ran at the
    /// add latency (1.6M doubles, one core: 433 -> 222 us, bench/results/2026-11-23-all-finite.md).
    /// </summary>
    internal static bool AllFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<T>.Count)
        {
            ReadOnlySpan<Vector<T>> vs = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(values);
            Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
            int j = 0;
            for (; j + 4 <= vs.Length; j += 4)
            {
                a0 += vs[j] - vs[j];
                a1 += vs[j + 1] - vs[j + 1];
                a2 += vs[j + 2] - vs[j + 2];
                a3 += vs[j + 3] - vs[j + 3];
            }
            for (; j < vs.Length; j++) a0 += vs[j] - vs[j];
            if (!Vector.EqualsAll((a0 + a1) + (a2 + a3), Vector<T>.Zero)) return false;
            i = vs.Length * Vector<T>.Count;
        }
        for (; i < values.Length; i++)
            if (!T.IsFinite(values[i])) return false;
        return true;
    }

    internal static int DTypeOf<T>() =>
        typeof(T) == typeof(float) ? Interop.NativeMethods.DTypeFloat32 :
        typeof(T) == typeof(double) ? Interop.NativeMethods.DTypeFloat64 :
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported: use float or double.");

    internal static string Shape(params long[] dims) => "[" + string.Join(", ", dims) + "]";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Product(long a, long b, long c) => checked(a * b * c);
}

/// <summary>A shape of up to three dimensions, formatted only when an error message needs it (no allocation otherwise).</summary>
internal readonly record struct Dims(long A, long B, long C)
{
    public override string ToString() => $"[{A}, {B}, {C}]";
}
