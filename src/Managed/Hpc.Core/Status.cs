using System.Runtime.CompilerServices;
using Hpc.Interop;

namespace Hpc;

/// <summary>An error reported by the native core that is not an argument, state or memory error.</summary>
public sealed class HpcNativeException : Exception
{
    /// <summary>Creates the exception for a native status code and message.</summary>
    /// <param name="status">The native status code.</param>
    /// <param name="message">The native error message.</param>
    public HpcNativeException(int status, string message) : base(message) => Status = status;

    /// <summary>The native status code (HPC_ERR_*).</summary>
    public int Status { get; }
}

/// <summary>Maps native status codes to exceptions carrying the native message.</summary>
internal static class Status
{
    internal const int Ok = 0;
    internal const int InvalidArgument = 1;
    internal const int OutOfMemory = 2;
    internal const int InvalidState = 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ThrowIfFailed(int rc, [CallerArgumentExpression(nameof(rc))] string expression = "")
    {
        if (rc != Ok) Throw(rc, expression);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(int rc, string expression)
    {
        string message = NativeMethods.LastError();
        throw rc switch
        {
            InvalidArgument => new ArgumentException(message),
            OutOfMemory => new OutOfMemoryException(message),
            InvalidState => new InvalidOperationException(message),
            _ => new HpcNativeException(rc, $"{message} (status {rc} from {expression})"),
        };
    }
}

/// <summary>Library-wide information and settings of the native core.</summary>
public static class HpcLibrary
{
    /// <summary>The native library version as major * 10000 + minor * 100 + patch.</summary>
    public static int NativeVersion => NativeMethods.hpc_version();

    /// <summary>The compute backend in use, e.g. "OpenBLAS 0.3.21 ... core=Cooperlake threads=2".</summary>
    public static unsafe string BackendInfo
    {
        get
        {
            Span<byte> buf = stackalloc byte[512];
            fixed (byte* p = buf)
            {
                int n = (int)Math.Min(NativeMethods.hpc_backend_info(p, (nuint)buf.Length), (nuint)(buf.Length - 1));
                return System.Text.Encoding.UTF8.GetString(buf[..n]);
            }
        }
    }

    /// <summary>Sets the number of threads HPC's float32 recurrent kernels, the BLAS backend and the HMM kernels use;
    /// 0 or less restores the default (one per hardware thread). Results do not depend on it.</summary>
    /// <param name="threads">Thread count, or 0 for the default.</param>
    public static void SetNumThreads(int threads) => Status.ThrowIfFailed(NativeMethods.hpc_set_num_threads(threads));
}
