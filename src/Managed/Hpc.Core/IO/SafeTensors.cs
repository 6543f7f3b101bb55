using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Hpc.IO;

/// <summary>One tensor of a safetensors file: dtype, shape and its little-endian bytes.</summary>
public sealed class SafeTensor
{
    internal SafeTensor(string name, string dtype, long[] shape, ReadOnlyMemory<byte> data)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>The tensor's name.</summary>
    public string Name { get; }
    /// <summary>safetensors dtype string: F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL.</summary>
    public string DType { get; }
    /// <summary>Row-major shape.</summary>
    public IReadOnlyList<long> Shape { get; }
    /// <summary>The raw little-endian bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Copies the elements into <paramref name="destination"/>, converting F32/F64 to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidDataException">The dtype is not F32 or F64.</exception>
    /// <exception cref="ArgumentException">The destination length differs from <see cref="Count"/>.</exception>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (destination.Length != Count)
            throw new ArgumentException($"destination: expected {Count} elements, got {destination.Length}.", nameof(destination));
        ReadOnlySpan<byte> bytes = Data.Span;
        switch (DType)
        {
            case "F32":
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = T.CreateChecked(BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * i, 4)));
                break;
            case "F64":
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = T.CreateChecked(BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(8 * i, 8)));
                break;
            default:
                throw new InvalidDataException($"tensor '{Name}': expected dtype F32 or F64, got {DType}.");
        }
    }

    /// <summary>The elements as a new array of <typeparamref name="T"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[Count];
        CopyTo<T>(a);
        return a;
    }
}

/// <summary>
/// Reads the safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping names
/// to dtype, shape and data offsets, then the raw data. Every offset and size is checked against the file.
/// </summary>
public sealed class SafeTensors
{
    private static readonly Dictionary<string, int> ElementSizes = new()
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1,
        ["U8"] = 1, ["BOOL"] = 1,
    };

    private readonly Dictionary<string, SafeTensor> _tensors;

    private SafeTensors(string source, Dictionary<string, SafeTensor> tensors, Dictionary<string, string> metadata)
    {
        Source = source;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Where the tensors came from (the file path), used in error messages.</summary>
    public string Source { get; }
    /// <summary>The header's <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Tensor names in file order.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>The tensor named <paramref name="name"/>, if present.</summary>
    public bool TryGet(string name, out SafeTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">No tensor has that name.</exception>
    public SafeTensor this[string name] => _tensors.TryGetValue(name, out var t) ? t
        : throw new InvalidDataException($"{Source}: no tensor named '{name}'.");

    /// <summary>Reads and validates a .safetensors file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or its header is malformed or inconsistent.</exception>
    public static SafeTensors Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are truncated or the header is malformed or inconsistent.</exception>
    public static SafeTensors Parse(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 8)
            throw new InvalidDataException($"{source}: truncated safetensors file: expected at least 8 bytes, got {bytes.Length}.");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)(bytes.Length - 8))
            throw new InvalidDataException($"{source}: header length {headerLen} exceeds the {bytes.Length - 8} bytes after the length field (truncated or not a safetensors file).");
        int dataStart = 8 + (int)headerLen;
        long dataLen = bytes.Length - dataStart;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen)); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: header is not valid JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: header: expected a JSON object, got {doc.RootElement.ValueKind}.");
        var tensors = new Dictionary<string, SafeTensor>();
        var metadata = new Dictionary<string, string>();
        var spans = new List<(long Begin, long End, string Name)>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{source}: __metadata__: expected an object of strings.");
                foreach (var m in prop.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            string name = prop.Name;
            var e = prop.Value;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                || !e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                || !e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw new InvalidDataException($"{source}: tensor '{name}': expected {{\"dtype\", \"shape\", \"data_offsets\": [begin, end]}}, got {e.GetRawText()}.");
            string dtype = dt.GetString()!;
            if (!ElementSizes.TryGetValue(dtype, out int esize))
                throw new InvalidDataException($"{source}: tensor '{name}': unknown dtype '{dtype}'; expected one of {string.Join(", ", ElementSizes.Keys)}.");
            var shape = new long[sh.GetArrayLength()];
            long count = 1;
            int k = 0;
            foreach (var d in sh.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                    throw new InvalidDataException($"{source}: tensor '{name}': shape entries must be non-negative integers, got {sh.GetRawText()}.");
                shape[k++] = v;
                count = checked(count * v);
            }
            if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
                throw new InvalidDataException($"{source}: tensor '{name}': data_offsets must be integers 0 <= begin <= end, got {off.GetRawText()}.");
            long expected = checked(count * esize);
            if (end - begin != expected)
                throw new InvalidDataException($"{source}: tensor '{name}': data_offsets span {end - begin} bytes, expected {expected} ({dtype} {Validate.Shape(shape)}).");
            if (end > dataLen)
                throw new InvalidDataException($"{source}: tensor '{name}': data ends at byte {end} but the file has {dataLen} data bytes (truncated).");
            if (tensors.ContainsKey(name))
                throw new InvalidDataException($"{source}: tensor '{name}' appears twice.");
            spans.Add((begin, end, name));
            tensors[name] = new SafeTensor(name, dtype, shape, bytes.AsMemory(dataStart + (int)begin, (int)(end - begin)));
        }
        spans.Sort();
        for (int i = 1; i < spans.Count; i++)
            if (spans[i].Begin < spans[i - 1].End)
                throw new InvalidDataException($"{source}: tensors '{spans[i - 1].Name}' and '{spans[i].Name}' overlap.");
        return new SafeTensors(source, tensors, metadata);
    }
}

/// <summary>Writes safetensors files: tensors in the order added, 8-byte aligned header, F32 or F64 data.</summary>
public sealed class SafeTensorsWriter
{
    private readonly List<(string Name, string DType, long[] Shape, byte[] Data)> _tensors = [];

    /// <summary>Strings stored under the header's <c>__metadata__</c>.</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    /// <summary>Adds a float or double tensor.</summary>
    /// <param name="name">Its name; must be unique.</param>
    /// <param name="shape">Row-major shape; the product must equal the data length.</param>
    /// <param name="data">The elements.</param>
    /// <exception cref="ArgumentException">The name is a duplicate or the shape does not match the data.</exception>
    public void Add<T>(string name, long[] shape, ReadOnlySpan<T> data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (count != data.Length)
            throw new ArgumentException($"data: expected {count} elements for shape {Validate.Shape(shape)}, got {data.Length}.", nameof(data));
        if (_tensors.Any(t => t.Name == name))
            throw new ArgumentException($"name: tensor '{name}' was already added.", nameof(name));
        string dtype = typeof(T) == typeof(float) ? "F32" : typeof(T) == typeof(double) ? "F64"
            : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported: use float or double.");
        byte[] bytes = MemoryMarshal.AsBytes(data).ToArray();
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine.");
        _tensors.Add((name, dtype, (long[])shape.Clone(), bytes));
    }

    /// <summary>Writes the file.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    public void Save(string path)
    {
        var header = new StringBuilder("{");
        if (Metadata.Count > 0)
            header.Append("\"__metadata__\":").Append(JsonSerializer.Serialize(Metadata, SafeTensorsJson.Default.DictionaryStringString)).Append(',');
        long offset = 0;
        foreach (var t in _tensors)
        {
            header.Append(JsonSerializer.Serialize(t.Name, SafeTensorsJson.Default.String))
                  .Append($":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + t.Data.Length}]}},");
            offset += t.Data.Length;
        }
        if (header[^1] == ',') header.Length--;
        header.Append('}');
        while ((header.Length) % 8 != 0) header.Append(' ');
        byte[] h = Encoding.UTF8.GetBytes(header.ToString());
        using var f = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)h.Length);
        f.Write(len);
        f.Write(h);
        foreach (var t in _tensors) f.Write(t.Data);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal partial class SafeTensorsJson : System.Text.Json.Serialization.JsonSerializerContext;
