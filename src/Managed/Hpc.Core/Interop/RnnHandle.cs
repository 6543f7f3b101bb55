using System.Runtime.InteropServices;

namespace Hpc.Interop;

/// <summary>Owns a native <c>hpc_rnn</c> (network object plus workspace); destroyed deterministically on Dispose.</summary>
internal sealed class RnnHandle : SafeHandle
{
    public RnnHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static unsafe RnnHandle Create(in RnnDesc desc)
    {
        var h = new RnnHandle();
        nint raw;
        fixed (RnnDesc* d = &desc) Status.ThrowIfFailed(NativeMethods.hpc_rnn_create(d, &raw));
        h.SetHandle(raw);
        return h;
    }

    protected override bool ReleaseHandle() => NativeMethods.hpc_rnn_destroy(handle) == Status.Ok;
}
