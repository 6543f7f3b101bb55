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
}
