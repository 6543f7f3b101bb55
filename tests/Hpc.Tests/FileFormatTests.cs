using System.Buffers.Binary;
using System.Text;
using Hpc.IO;
using Xunit;

namespace Hpc.Tests;

public class FileFormatTests
{
    [Fact]
    public void NpyRoundTripsEveryDtypeExactly()
    {
        string dir = TestData.TempDir();
        var f = new[] { 1.5f, -2.25f, float.Epsilon, 3e38f, 0f, -0f };
        var d = new[] { Math.PI, -1e-300, double.MaxValue, 0.1, 2, 3 };
        var i = new[] { int.MinValue, -1, 0, 1, 2, int.MaxValue };
        var l = new[] { long.MinValue, -1L, 0, 1, 2, long.MaxValue };
        Npy.Write<float>(Path.Combine(dir, "f.npy"), f, 2, 3);
        Npy.Write<double>(Path.Combine(dir, "d.npy"), d, 3, 2);
        Npy.Write<int>(Path.Combine(dir, "i.npy"), i, 6);
        Npy.Write<long>(Path.Combine(dir, "l.npy"), l, 1, 2, 3);
        var rf = Npy.Read(Path.Combine(dir, "f.npy"));
        Assert.Equal(NpyDType.Float32, rf.DType);
        Assert.Equal(new long[] { 2, 3 }, rf.Shape);
        Assert.Equal(f, rf.ToSingleArray());
        Assert.Equal(d, Npy.Read(Path.Combine(dir, "d.npy")).ToDoubleArray());
        Assert.Equal(i.Select(v => (long)v), Npy.Read(Path.Combine(dir, "i.npy")).ToInt64Array());
        var rl = Npy.Read(Path.Combine(dir, "l.npy"));
        Assert.Equal(new long[] { 1, 2, 3 }, rl.Shape);
        Assert.Equal(l, rl.ToInt64Array());
        // The header is 64-byte aligned as NumPy writes it.
        byte[] raw = File.ReadAllBytes(Path.Combine(dir, "d.npy"));
        Assert.Equal(0, (10 + BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(8))) % 64);
    }

    [Fact]
    public void NpyReadsFilesWrittenByNumPy()
    {
        var a = Npy.Read(TestData.Path("cli", "lstm_f64_input.npy"));
        Assert.Equal(NpyDType.Float64, a.DType);
        Assert.Equal(new long[] { 3, 6, 4 }, a.Shape);
        Assert.Equal(NpyDType.Float32, Npy.Read(TestData.Path("cli", "lstm_f32_input.npy")).DType);
    }

    [Fact]
    public void TruncatedNpyNamesFileExpectedAndActual()
    {
        byte[] good = File.ReadAllBytes(TestData.Path("cli", "lstm_f64_input.npy"));
        var e = Assert.Throws<InvalidDataException>(() => Npy.Parse(good[..^8], "x.npy"));
        Assert.Contains("x.npy", e.Message);
        Assert.Contains("expected 576 bytes, got 568 (truncated)", e.Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Npy.Parse(good[..40], "x.npy")).Message);
    }

    [Fact]
    public void MislabelledNpyIsRejected()
    {
        byte[] good = File.ReadAllBytes(TestData.Path("cli", "lstm_f64_input.npy"));
        string header = Encoding.ASCII.GetString(good, 10, BinaryPrimitives.ReadUInt16LittleEndian(good.AsSpan(8)));
        byte[] With(string from, string to)
        {
            var b = (byte[])good.Clone();
            Encoding.ASCII.GetBytes(header.Replace(from, to)).CopyTo(b, 10);
            return b;
        }
        Assert.Contains("unsupported dtype '<c8'", Assert.Throws<InvalidDataException>(() => Npy.Parse(With("<f8", "<c8"), "x.npy")).Message);
        Assert.Contains("unsupported dtype '>f8'", Assert.Throws<InvalidDataException>(() => Npy.Parse(With("<f8", ">f8"), "x.npy")).Message);
        Assert.Contains("fortran_order is True", Assert.Throws<InvalidDataException>(() => Npy.Parse(With("False", "True "), "x.npy")).Message);
        Assert.Contains("expected 288 bytes, got 576", Assert.Throws<InvalidDataException>(() => Npy.Parse(With("<f8", "<f4"), "x.npy")).Message);
        Assert.Contains("not a .npy file", Assert.Throws<InvalidDataException>(() => Npy.Parse(Encoding.ASCII.GetBytes("hello world!"), "x.npy")).Message);
    }

    [Fact]
    public void SafeTensorsRoundTripsModuleParametersBitExactly()
    {
        string dir = TestData.TempDir();
        foreach (bool f32 in new[] { false, true })
        {
            string path = Path.Combine(dir, $"m{f32}.safetensors");
            if (f32)
            {
                using var a = new Lstm<float>(3, 5, 2, bidirectional: true, peephole: true, seed: 1);
                a.SaveSafeTensors(path);
                using var b = new Lstm<float>(3, 5, 2, bidirectional: true, peephole: true, seed: 2);
                b.LoadSafeTensors(path);
                Assert.True(a.Parameters.SequenceEqual(b.Parameters));
                Assert.Equal("F32", SafeTensors.Read(path)["weight_ih_l0"].DType);
            }
            else
            {
                using var a = new Gru<double>(4, 3, 3, seed: 1);
                a.SaveSafeTensors(path);
                using var b = new Gru<double>(4, 3, 3, seed: 2);
                b.LoadSafeTensors(path);
                Assert.True(a.Parameters.SequenceEqual(b.Parameters));
                Assert.Equal("Gru", SafeTensors.Read(path).Metadata["cell"]);
            }
        }
    }

    [Fact]
    public void SafeTensorsFromPyTorchLoadIntoAModule()
    {
        using var m = new Lstm<double>(4, 5, 2, bidirectional: true);
        m.LoadSafeTensors(TestData.Path("cli", "lstm_f64_weights.safetensors"));
        var st = SafeTensors.Read(TestData.Path("cli", "lstm_f64_weights.safetensors"));
        Assert.Equal(st["bias_hh_l1_reverse"].ToArray<double>(), m.Parameter("bias_hh_l1_reverse").ToArray());
        // float32 tensors convert to a float64 module.
        using var m2 = new Lstm<double>(4, 5, 2, bidirectional: true);
        m2.LoadSafeTensors(TestData.Path("cli", "lstm_f32_weights.safetensors"));
    }

    private static byte[] SafeTensorsBytes(string json, int dataBytes)
    {
        byte[] h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    [Fact]
    public void TruncatedOrMislabelledSafeTensorsAreRejectedWithDetails()
    {
        byte[] good = File.ReadAllBytes(TestData.Path("cli", "gru_f32_weights.safetensors"));
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(good[..^4], "w.st")).Message);
        Assert.Contains("expected at least 8 bytes, got 5", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(good[..5], "w.st")).Message);
        Assert.Contains("exceeds", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(good[..100], "w.st")).Message);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(
            SafeTensorsBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24), "w.st"));
        Assert.Contains("data_offsets span 20 bytes, expected 24 (F32 [2, 3])", e.Message);
        Assert.Contains("unknown dtype 'F128'", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(
            SafeTensorsBytes("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16), "w.st")).Message);
        Assert.Contains("overlap", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(
            SafeTensorsBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "w.st")).Message);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafeTensors.Parse(SafeTensorsBytes("{oops", 0), "w.st")).Message);
    }

    [Fact]
    public void LoadingMismatchedTensorsThrowsAndLeavesParametersUnchanged()
    {
        using var m = new Lstm<double>(4, 5, 2, bidirectional: true, seed: 3);
        double[] before = m.Parameters.ToArray();
        // Right names, wrong hidden size: the first tensor fails the shape check.
        var e = Assert.Throws<InvalidDataException>(() => new Lstm<double>(4, 6, 2, bidirectional: true).LoadSafeTensors(TestData.Path("cli", "lstm_f64_weights.safetensors")));
        Assert.Contains("weight_ih_l0': expected shape [24, 4], got [20, 4]", e.Message);
        // Unidirectional module: the file has unexpected _reverse tensors.
        using var uni = new Lstm<double>(4, 5, 2);
        Assert.Contains("unexpected tensor 'weight_ih_l0_reverse'", Assert.Throws<InvalidDataException>(() => uni.LoadSafeTensors(TestData.Path("cli", "lstm_f64_weights.safetensors"))).Message);
        // Three layers: layer 2 is missing from the file.
        using var deep = new Lstm<double>(4, 5, 3, bidirectional: true);
        Assert.Contains("missing tensor 'weight_ih_l2'", Assert.Throws<InvalidDataException>(() => deep.LoadSafeTensors(TestData.Path("cli", "lstm_f64_weights.safetensors"))).Message);
        // A GRU file into an LSTM: shapes differ; nothing is half-loaded.
        using var m2 = new Lstm<double>(3, 4, seed: 5);
        double[] before2 = m2.Parameters.ToArray();
        Assert.Throws<InvalidDataException>(() => m2.LoadSafeTensors(TestData.Path("cli", "gru_f32_weights.safetensors")));
        Assert.Equal(before2, m2.Parameters.ToArray());
        Assert.Equal(before, m.Parameters.ToArray());
    }
}
