using System.Runtime.InteropServices;

namespace Hpc.Interop;

/// <summary>Mirror of <c>hpc_rnn_desc</c> in native/include/hpc/hpc.h.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RnnDesc
{
    public int Cell;
    public int DType;
    public long InputSize;
    public long HiddenSize;
    public long NumLayers;
    public int Bidirectional;
    public int BatchFirst;
}

/// <summary>The C ABI, one to one. Only pointers and unmanaged types; names as in C.</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "hpc_native";

    internal const int DTypeFloat32 = 1;
    internal const int DTypeFloat64 = 2;

    [LibraryImport(Library)]
    internal static partial int hpc_version();

    [LibraryImport(Library)]
    internal static partial nuint hpc_last_error(byte* buf, nuint len);

    [LibraryImport(Library)]
    internal static partial int hpc_set_num_threads(int n);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_param_layout(RnnDesc* desc, long* numTensors, long* numElements);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_param_info(RnnDesc* desc, long index, byte* name, nuint nameLen,
        long* offset, int* rank, long* shape);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_create(RnnDesc* desc, nint* rnn);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_destroy(nint rnn);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_workspace_bytes(nint rnn, long* bytes);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_forward(nint rnn, int training, long batch, long seqLen,
        void* x, long xLen, void* parameters, long parametersLen, void* h0, long h0Len, void* c0, long c0Len,
        void* y, long yLen, void* hn, long hnLen, void* cn, long cnLen);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_backward(nint rnn, void* x, long xLen, void* parameters, long parametersLen,
        void* dy, long dyLen, void* dhn, long dhnLen, void* dcn, long dcnLen, void* dx, long dxLen,
        void* dh0, long dh0Len, void* dc0, long dc0Len, void* dparameters, long dparametersLen, int accumulate);

    /// <summary>The calling thread's last native error message.</summary>
    internal static string LastError()
    {
        Span<byte> buf = stackalloc byte[1024];
        fixed (byte* p = buf)
        {
            nuint n = hpc_last_error(p, (nuint)buf.Length);
            int len = (int)Math.Min(n, (nuint)(buf.Length - 1));
            return System.Text.Encoding.UTF8.GetString(buf[..len]);
        }
    }
}
