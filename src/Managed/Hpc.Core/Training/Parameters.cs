using System.Numerics;
using System.Runtime.InteropServices;

namespace Hpc.Training;

/// <summary>A trainable tensor: its values and its gradient, flat arrays of equal length.</summary>
/// <param name="Name">A name for reports (e.g. <c>lstm.weight_hh_l0</c>).</param>
/// <param name="Value">The values; updated in place by optimizers.</param>
/// <param name="Grad">The gradient; read by optimizers, scaled in place by clipping.</param>
public sealed record ParameterTensor<T>(string Name, T[] Value, T[] Grad) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// A set of tensors pinned for the lifetime of the set, with the pointer arrays the native calls take, so that an
/// optimizer step or a clipping call over all of them is one allocation-free native call.
/// </summary>
public sealed class ParameterSet<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<GCHandle> _handles = [];
    internal readonly nint[] Values;
    internal readonly nint[] Grads;
    internal readonly long[] Lengths;

    /// <summary>Pins the tensors.</summary>
    /// <exception cref="ArgumentException">The set is empty, a tensor is empty, or a gradient's length differs from its values'.</exception>
    public ParameterSet(IEnumerable<ParameterTensor<T>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Tensors = tensors.ToArray();
        if (Tensors.Count == 0) throw new ArgumentException("tensors: expected at least one parameter tensor, got none.", nameof(tensors));
        Values = GC.AllocateArray<nint>(Tensors.Count, pinned: true);
        Grads = GC.AllocateArray<nint>(Tensors.Count, pinned: true);
        Lengths = GC.AllocateArray<long>(Tensors.Count, pinned: true);
        for (int i = 0; i < Tensors.Count; i++)
        {
            var t = Tensors[i];
            if (t.Value.Length == 0)
                throw new ArgumentException($"tensors[{i}] ({t.Name}): expected a non-empty tensor.", nameof(tensors));
            if (t.Grad.Length != t.Value.Length)
                throw new ArgumentException($"tensors[{i}] ({t.Name}): gradient has {t.Grad.Length} elements, expected {t.Value.Length}.", nameof(tensors));
            Values[i] = Pin(t.Value);
            Grads[i] = Pin(t.Grad);
            Lengths[i] = t.Value.Length;
        }
    }

    /// <summary>The tensors, in order.</summary>
    public IReadOnlyList<ParameterTensor<T>> Tensors { get; }

    /// <summary>Total number of elements.</summary>
    public long Count => Lengths.Sum();

    internal nint Pin(T[] array)
    {
        var h = GCHandle.Alloc(array, GCHandleType.Pinned);
        _handles.Add(h);
        return h.AddrOfPinnedObject();
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var t in Tensors) Array.Clear(t.Grad);
    }

    /// <summary>Unpins the tensors.</summary>
    public void Dispose()
    {
        foreach (var h in _handles) if (h.IsAllocated) h.Free();
        _handles.Clear();
    }
}
