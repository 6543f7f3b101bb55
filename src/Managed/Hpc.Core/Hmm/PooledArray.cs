using System.Buffers;

namespace Hpc.Hmm;

/// <summary>
/// Scratch values rented from <see cref="ArrayPool{T}.Shared"/> and seen as exactly <see cref="Length"/> values;
/// returned to the pool on <see cref="Dispose"/>. The HMM calls keep their [N, K] emission densities and posteriors
/// (and Viterbi's int64 path) here: fresh arrays of that size cost a zero fill and, as the GC hands their pages back
/// and forth, page faults on every call (about a fifth of a score at K 8, T 100k). Contents on rent are unspecified.
/// </summary>
internal readonly struct PooledArray<T> : IDisposable where T : unmanaged
{
    private readonly T[] _array;

    public PooledArray(long length, string argument)
    {
        Length = ArrayLength(length, argument);
        _array = ArrayPool<T>.Shared.Rent(Length);
    }

    /// <summary>The length of an [N, K] array as an int, or an exception naming <paramref name="argument"/> when no
    /// array can hold that many values (pooled scratch and the HMM calls' result arrays alike).</summary>
    public static int ArrayLength(long length, string argument) =>
        length <= Array.MaxLength ? (int)length
            : throw new ArgumentException($"{argument}: the [N, K] arrays would hold {length} values, more than the {Array.MaxLength} an array can hold.", argument);

    public int Length { get; }

    public Span<T> Span => _array.AsSpan(0, Length);

    public void Dispose() => ArrayPool<T>.Shared.Return(_array);
}
