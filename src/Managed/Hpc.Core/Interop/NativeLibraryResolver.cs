using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;


namespace Hpc.Interop;

/// <summary>
/// Finds libhpc_native: the HPC_NATIVE_LIBRARY environment variable, the app folder, the assembly's folder,
/// runtimes/{rid}/native/ under both, and the repository's CMake build output. Fails with a message that lists
/// every place it looked.
/// </summary>
internal static class NativeLibraryResolver
{
    // The resolver must be in place before the first P/Invoke of any caller, which only a module initializer
    // guarantees for a library.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    private static string FileName =>
        OperatingSystem.IsWindows() ? "hpc_native.dll" :
        OperatingSystem.IsMacOS() ? "libhpc_native.dylib" : "libhpc_native.so";

    internal static IReadOnlyList<string> Candidates()
    {
        var list = new List<string>();
        string? env = Environment.GetEnvironmentVariable("HPC_NATIVE_LIBRARY");
        if (!string.IsNullOrEmpty(env)) list.Add(env);
        var folders = new List<string> { AppContext.BaseDirectory };
#pragma warning disable IL3000 // empty in single-file apps, which the check below handles
        string? asmDir = Path.GetDirectoryName(typeof(NativeLibraryResolver).Assembly.Location);
#pragma warning restore IL3000
        if (!string.IsNullOrEmpty(asmDir)) folders.Add(asmDir);
        foreach (string dir in folders.Distinct())
        {
            list.Add(Path.Combine(dir, FileName));
            list.Add(Path.Combine(dir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", FileName));
        }
        // Development: walk up to the repository and use the CMake build output.
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "HPC.sln")))
            {
                list.Add(Path.Combine(d.FullName, "build", "managed-native", FileName));
                list.Add(Path.Combine(d.FullName, "build", "native", FileName));
                break;
            }
        }
        return list;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        var tried = Candidates();
        foreach (string candidate in tried)
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle)) return handle;
        throw new DllNotFoundException(
            $"HPC could not load its native library '{FileName}'. Looked in: {string.Join(", ", tried)}. " +
            "Build it with 'dotnet build' (which runs CMake) or set HPC_NATIVE_LIBRARY to its path.");
    }
}
