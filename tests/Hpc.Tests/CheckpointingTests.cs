using FsCheck;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

/// <summary>Checkpointed BPTT gives the same gradients as the plain path, bit for bit, with less memory.</summary>
public class CheckpointingTests(ITestOutputHelper output)
{
    private static (double[] Dp, double[] Dx, double[] Dh0, double[] Dc0, double[] Top, double[] Y) Run(RnnCase c, RnnCase.Data d, int every)
    {
        using var m = c.Create<double>();
        m.CheckpointEvery = every;
        var y = new double[c.YLen];
        var hn = new double[c.StateLen];
        var cn = c.HasC ? new double[c.StateLen] : [];
        m.Forward(d.X, c.Batch, c.SeqLen, y, d.H0, d.C0, hn, cn, training: true);
        var dx = new double[c.XLen];
        var dh0 = new double[c.StateLen];
        var dc0 = c.HasC ? new double[c.StateLen] : [];
        var top = new double[c.YLen];
        m.Backward(d.X, d.Gy, dx, d.Gh, d.Gc, dh0, dc0, gradTopHidden: top);
        return (m.Gradients.ToArray(), dx, dh0, dc0, top, y);
    }

    [Fact]
    public void CheckpointedGradientsAreBitIdenticalToThePlainPath()
    {
        var gen = from c in RnnCase.Generator(maxLayers: 3, maxBatch: 4, maxSeq: 12, maxSize: 6)
                  from k in Gen.Choose(1, 12)
                  select (c, k);
        int count = 0;
        Prop.ForAll(gen.ToArbitrary(), ((RnnCase C, int K) t) =>
        {
            count++;
            var d = t.C.MakeData();
            var plain = Run(t.C, d, 0);
            var ck = Run(t.C, d, t.K);
            string what = $"{t.C} k={t.K}";
            Assert.True(plain.Y.SequenceEqual(ck.Y), $"{what}: outputs differ");
            Assert.True(plain.Dp.SequenceEqual(ck.Dp), $"{what}: parameter gradients differ");
            Assert.True(plain.Dx.SequenceEqual(ck.Dx), $"{what}: input gradients differ");
            Assert.True(plain.Dh0.SequenceEqual(ck.Dh0), $"{what}: dh0 differs");
            Assert.True(plain.Dc0.SequenceEqual(ck.Dc0), $"{what}: dc0 differs");
            Assert.True(plain.Top.SequenceEqual(ck.Top), $"{what}: dL/dh_t differs");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150).WithQuietOnSuccess(true));
        string line = $"{nameof(CheckpointedGradientsAreBitIdenticalToThePlainPath)}: {count} random cases checked";
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    /// <summary>The total native workspace (saved activations plus the backward buffers both modes need) with and
    /// without checkpoints. Plain training keeps L*D*T*B*(G+1)*H activations; checkpointing keeps the layer outputs, a
    /// cell state per segment and one transient projection buffer, so the saving grows with layers x directions.</summary>
    [Theory]
    [InlineData(2, false, 0.15)]
    [InlineData(3, true, 0.40)]
    public void CheckpointingSavesMemoryAndReportsIt(int layers, bool bidirectional, double minSaving)
    {
        const int B = 16, T = 100, I = 32, H = 64;
        int d = bidirectional ? 2 : 1;
        var x = new float[B * T * I];
        var y = new float[B * T * d * H];
        long Bytes(int every)
        {
            using var m = new Lstm<float>(I, H, numLayers: layers, bidirectional: bidirectional);
            m.CheckpointEvery = every;
            m.Forward(x, B, T, y, training: true);
            m.Backward(x, y);
            return m.WorkspaceBytes;
        }
        long plain = Bytes(0), ck = Bytes(10);
        double saved = (double)(plain - ck) / plain;
        string line = $"LSTM B={B} T={T} I={I} H={H} L={layers} D={d}: workspace {plain / 1048576.0:F2} MiB plain, {ck / 1048576.0:F2} MiB with a checkpoint every 10 steps ({saved:P0} saved)";
        output.WriteLine(line);
        Console.WriteLine(line);
        Assert.True(saved >= minSaving, line);
    }

    [Fact]
    public void NegativeIntervalIsRejected() => Assert.Throws<ArgumentOutOfRangeException>(() => new Gru<float>(2, 2) { CheckpointEvery = -1 });
}
