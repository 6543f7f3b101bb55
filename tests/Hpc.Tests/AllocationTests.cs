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
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
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
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Contains(dx, v => v != 0);
    }
}
