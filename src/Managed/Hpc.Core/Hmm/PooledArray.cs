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
        if (length > Array.MaxLength)
            throw new ArgumentException($"{argument}: the [N, K] arrays would hold {length} values, more than the {Array.MaxLength} an array can hold.", argument);
        _array = ArrayPool<T>.Shared.Rent((int)length);
        Length = (int)length;
    }

    public int Length { get; }

    public Span<T> Span => _array.AsSpan(0, Length);

    public void Dispose() => ArrayPool<T>.Shared.Return(_array);
}
