using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Hpc.IO;

/// <summary>Element types of .npy arrays that HPC reads and writes (little-endian).</summary>
public enum NpyDType
{
    /// <summary>'&lt;f4'</summary>
    Float32,
    /// <summary>'&lt;f8'</summary>
    Float64,
    /// <summary>'&lt;i4'</summary>
    Int32,
    /// <summary>'&lt;i8'</summary>
    Int64,
}

/// <summary>An n-dimensional array read from or written to NumPy's .npy format (C order).</summary>
public sealed class NpyArray
{
    /// <summary>Creates an array from raw little-endian bytes.</summary>
    /// <param name="dtype">The element type.</param>
    /// <param name="shape">Row-major shape (empty for a scalar).</param>
    /// <param name="data">prod(shape) * element size bytes.</param>
    /// <exception cref="ArgumentException">The data length does not match the shape.</exception>
    public NpyArray(NpyDType dtype, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape: dimensions must be >= 0, got {Validate.Shape(shape)}.", nameof(shape));
            count = checked(count * d);
        }
        if (checked(count * ElementSize(dtype)) != data.Length)
            throw new ArgumentException($"data: expected {count * ElementSize(dtype)} bytes for {dtype} {Validate.Shape(shape)}, got {data.Length}.", nameof(data));
        DType = dtype;
        Shape = (long[])shape.Clone();
        Data = data;
        Count = count;
    }

    /// <summary>The element type.</summary>
    public NpyDType DType { get; }
    /// <summary>Row-major shape.</summary>
    public IReadOnlyList<long> Shape { get; }
    /// <summary>Raw little-endian element bytes.</summary>
    public byte[] Data { get; }
    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    public static int ElementSize(NpyDType dtype) => dtype is NpyDType.Float32 or NpyDType.Int32 ? 4 : 8;

    /// <summary>Creates an array holding a copy of <paramref name="values"/> (float, double, int or long).</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    public static NpyArray From<T>(ReadOnlySpan<T> values, params long[] shape) where T : unmanaged
    {
        NpyDType dtype = typeof(T) == typeof(float) ? NpyDType.Float32 : typeof(T) == typeof(double) ? NpyDType.Float64
            : typeof(T) == typeof(int) ? NpyDType.Int32 : typeof(T) == typeof(long) ? NpyDType.Int64
            : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported by .npy I/O.");
        return new NpyArray(dtype, shape, MemoryMarshal.AsBytes(values).ToArray());
    }

    /// <summary>The elements as doubles (any dtype).</summary>
    public double[] ToDoubleArray()
    {
        var r = new double[Count];
        for (int i = 0; i < r.Length; i++) r[i] = Get(i);
        return r;
    }

    /// <summary>The elements as floats (any dtype; float64 is rounded).</summary>
    public float[] ToSingleArray()
    {
        var r = new float[Count];
        for (int i = 0; i < r.Length; i++) r[i] = (float)Get(i);
        return r;
    }

    /// <summary>The elements as 64-bit integers.</summary>
    /// <exception cref="InvalidDataException">The array holds floating-point values.</exception>
    public long[] ToInt64Array()
    {
        if (DType is NpyDType.Float32 or NpyDType.Float64)
            throw new InvalidDataException($"expected an integer array (int32 or int64), got {DType}.");
        var r = new long[Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = DType == NpyDType.Int32 ? BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(4 * i)) : BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(8 * i));
        return r;
    }

    private double Get(int i) => DType switch
    {
        NpyDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i)),
        NpyDType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(8 * i)),
        NpyDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(4 * i)),
        _ => BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(8 * i)),
    };
}

/// <summary>Reads and writes NumPy .npy files (format versions 1.0, 2.0 and 3.0; C order; little-endian f4/f8/i4/i8).</summary>
public static partial class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a .npy file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, mislabelled, Fortran-ordered or of an unsupported dtype.</exception>
    public static NpyArray Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses .npy bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are truncated, mislabelled, Fortran-ordered or of an unsupported dtype.</exception>
    public static NpyArray Parse(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not a .npy file: expected the magic string \\x93NUMPY, got {bytes.Length} bytes starting {Convert.ToHexString(bytes.AsSpan(0, Math.Min(6, bytes.Length)))}.");
        int major = bytes[6];
        int headerLen, headerStart;
        switch (major)
        {
            case 1: headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; break;
            case 2 or 3:
                if (bytes.Length < 12) throw new InvalidDataException($"{source}: truncated .npy header.");
                uint l = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
                if (l > int.MaxValue) throw new InvalidDataException($"{source}: header length {l} is too large.");
                headerLen = (int)l; headerStart = 12; break;
            default: throw new InvalidDataException($"{source}: unsupported .npy format version {major}.{bytes[7]}; expected 1.0, 2.0 or 3.0.");
        }
        if ((long)headerStart + headerLen > bytes.Length)
            throw new InvalidDataException($"{source}: truncated: header needs {headerStart + headerLen} bytes, the file has {bytes.Length}.");
        string header = Encoding.UTF8.GetString(bytes, headerStart, headerLen);
        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shapeM = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeM.Success)
            throw new InvalidDataException($"{source}: malformed .npy header: expected 'descr', 'fortran_order' and 'shape', got {header.Trim()}.");
        if (fortran.Groups[1].Value == "True")
            throw new InvalidDataException($"{source}: fortran_order is True; expected a C-ordered array.");
        NpyDType dtype = descr.Groups[1].Value switch
        {
            "<f4" => NpyDType.Float32, "<f8" => NpyDType.Float64, "<i4" => NpyDType.Int32, "<i8" => NpyDType.Int64,
            var d => throw new InvalidDataException($"{source}: unsupported dtype '{d}'; expected '<f4', '<f8', '<i4' or '<i8'."),
        };
        var dims = new List<long>();
        foreach (string part in shapeM.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long d))
                throw new InvalidDataException($"{source}: malformed shape ({shapeM.Groups[1].Value}).");
            dims.Add(d);
        }
        long count = 1;
        foreach (long d in dims) count = checked(count * d);
        long need = checked(count * NpyArray.ElementSize(dtype));
        long have = bytes.Length - headerStart - headerLen;
        if (have != need)
            throw new InvalidDataException($"{source}: data of {descr.Groups[1].Value} {Validate.Shape(dims.ToArray())}: expected {need} bytes, got {have}{(have < need ? " (truncated)" : "")}.");
        return new NpyArray(dtype, dims.ToArray(), bytes.AsSpan(headerStart + headerLen).ToArray());
    }

    /// <summary>Writes <paramref name="array"/> as a version 1.0 .npy file (64-byte aligned header).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="array">The array.</param>
    public static void Write(string path, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        string descr = array.DType switch { NpyDType.Float32 => "<f4", NpyDType.Float64 => "<f8", NpyDType.Int32 => "<i4", _ => "<i8" };
        string shape = array.Shape.Count == 1 ? $"({array.Shape[0]},)" : "(" + string.Join(", ", array.Shape) + ")";
        var header = new StringBuilder($"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while ((10 + header.Length + 1) % 64 != 0) header.Append(' ');
        header.Append('\n');
        byte[] h = Encoding.ASCII.GetBytes(header.ToString());
        using var f = File.Create(path);
        f.Write(Magic);
        f.WriteByte(1);
        f.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)h.Length);
        f.Write(len);
        f.Write(h);
        f.Write(array.Data);
    }

    /// <summary>Writes <paramref name="values"/> with <paramref name="shape"/> as a .npy file.</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values.</exception>
    public static void Write<T>(string path, ReadOnlySpan<T> values, params long[] shape) where T : unmanaged =>
        Write(path, NpyArray.From(values, shape));

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrRegex();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
