using Hpc.Training;
using Xunit;

namespace Hpc.Tests;

/// <summary>Steady-state calls allocate nothing on the managed heap (the native workspace is reused too).</summary>
public class AllocationTests
{
    [Fact]
    public void SteadyStateForwardAndBackwardAllocateNothing()
    {
        using var m = new Lstm<float>(8, 16, numLayers: 2, bidirectional: true);
        var x = new float[4 * 10 * 8];
        var y = new float[4 * 10 * 32];
        var h0 = new float[4 * 4 * 16];
        var hn = new float[h0.Length];
        var dx = new float[x.Length];
        void Step()
        {
            m.Forward(x, 4, 10, y, h0: h0, hn: hn, training: true);
            m.Backward(x, y, gradInput: dx);
            m.Forward(x, 4, 10, y);
        }
        Step();
        long workspace = m.WorkspaceBytes;
        Allocations.SomeWindowAllocatesNothing(Step);
        Assert.Equal(workspace, m.WorkspaceBytes);
    }

    /// <summary>The model layer, also stacked with dropout between its layers (separate modules, gradients passed
    /// down through the dropout masks), returning all steps or the last: steady-state training calls allocate
    /// nothing.</summary>
    [Theory]
    [InlineData(1, 0.0, false)]
    [InlineData(3, 0.3, true)]
    [InlineData(3, 0.3, false)]
    public void SteadyStateRecurrentLayerTrainingAllocatesNothing(int layers, double dropout, bool sequences)
    {
        const int B = 4, T = 6, I = 5, H = 7;
        using var layer = new Recurrent<float>(RecurrentCell.Gru, I, H, numLayers: layers, bidirectional: true,
            returnSequences: sequences, dropout: dropout, seed: 3);
        var shape = new Shape(B, T, I);
        var outShape = layer.OutputShape(shape);
        var x = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i)).ToArray();
        var y = new float[outShape.Length];
        var dy = Enumerable.Range(0, outShape.Length).Select(i => MathF.Cos(i)).ToArray();
        var dx = new float[x.Length];
        void Step()
        {
            layer.Forward(x, shape, y, training: true);
            layer.Backward(x, y, dy, dx, shape);
        }
        Allocations.SomeWindowAllocatesNothing(Step);
        Assert.Contains(dx, v => v != 0);
    }

    /// <summary>The HMM overloads that write into the caller's spans allocate nothing of the data's size: the same
    /// results as the allocating overloads, and at 20,000 rows a few hundred bytes per call (lengths and
    /// per-sequence sums) where the [N, K] posteriors alone are 320 KB.</summary>
    [Fact]
    public void HmmSpanOverloadsMatchTheArrayOnesAndAllocateNothingOfTheDataSize()
    {
        var model = new Hpc.Hmm.GaussianHmm(4, Hpc.Hmm.CovarianceType.Diag, 2)
        {
            Startprob = [0.4, 0.3, 0.2, 0.1],
            Transmat = [0.7, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.2, 0.2, 0.2, 0.4],
            Means = [0, 0, 2, 1, -1, 3, 4, 4], Covars = [1, 0.5, 1, 2, 0.7, 1, 1.5, 1],
        };
        int[] lengths = [7000, 5000, 8000];
        var x = model.Sample(20000, 11).X;
        var (lp, post) = model.ScoreSamples(x, lengths);
        var postOut = new double[post.Length];
        Assert.Equal(lp, model.ScoreSamples(x, lengths, postOut));
        Assert.Equal(post, postOut);
        var states = new int[20000];
        foreach (var algo in new[] { Hpc.Hmm.DecoderAlgorithm.Viterbi, Hpc.Hmm.DecoderAlgorithm.Map })
        {
            var (dlp, path) = model.Decode(x, lengths, algo);
            Array.Fill(states, -1);
            Assert.Equal(dlp, model.Decode(x, lengths, states, algo));
            Assert.Equal(path, states);
        }
        AssertFewBytesPerCall(() => model.ScoreSamples(x, lengths, postOut), () => model.Decode(x, lengths, states));
    }

    /// <summary>The same for categorical emissions: the symbols are widened to int64 in pooled scratch on every call
    /// outside Fit (a fresh long[N] was 160 KB a call here), and Decode's lookup-in-the-pass call needs no [N, K]
    /// array.</summary>
    [Fact]
    public void CategoricalSpanOverloadsAllocateNothingOfTheDataSize()
    {
        var model = new Hpc.Hmm.CategoricalHmm(3, 4)
        {
            Startprob = [0.5, 0.3, 0.2],
            Transmat = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6],
            Emissionprob = [0.7, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1, 0.4, 0.4],
        };
        int[] lengths = [7000, 5000, 8000];
        var x = model.Sample(20000, 5).X;
        var (lp, post) = model.ScoreSamples(x, lengths);
        var postOut = new double[post.Length];
        Assert.Equal(lp, model.ScoreSamples(x, lengths, postOut));
        Assert.Equal(post, postOut);
        var (dlp, path) = model.Decode(x, lengths);
        var states = new int[20000];
        Assert.Equal(dlp, model.Decode(x, lengths, states));
        Assert.Equal(path, states);
        AssertFewBytesPerCall(() => model.ScoreSamples(x, lengths, postOut), () => model.Decode(x, lengths, states));
    }

    // Five rounds of each call: fewer than 1024 bytes a call on this thread (lengths and per-sequence sums), where the
    // data's [N, K] arrays are hundreds of KB.
    private static void AssertFewBytesPerCall(params Action[] calls)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
            foreach (var call in calls) call();
        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (5 * calls.Length);
        Assert.True(perCall < 1024, $"{perCall} bytes allocated per call");
    }
}
