using Hpc.Training;
using Xunit;

namespace Hpc.Tests;

/// <summary>Inference on a frozen copy of the parameters (FreezeParameters / hpc_rnn_freeze_params).</summary>
public class FrozenParametersTests
{
    private const int B = 3, T = 7, I = 5, H = 20;

    private static float[] Run(Lstm<float> m, float[] x, bool training = false)
    {
        var y = new float[B * T * m.OutputSize];
        m.Forward(x, B, T, y, training: training);
        return y;
    }

    [Fact]
    public void FrozenInferenceEqualsTheUnfrozenForwardAndIgnoresLaterWritesUntilRefreshed()
    {
        using var m = new Lstm<float>(I, H, numLayers: 2, bidirectional: true);
        var rng = new Random(3);
        var x = new float[B * T * I];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        float[] live = Run(m, x);
        long bytes = m.WorkspaceBytes;

        m.FreezeParameters();
        Assert.True(m.ParametersFrozen);
        Assert.True(m.WorkspaceBytes >= bytes + 4L * m.Parameters.Length);
        Assert.Equal(live, Run(m, x));  // batch 3: both pack their weights, so bit for bit

        // Writes through Parameters are not seen by frozen inference, but training uses them.
        m.Parameters.Fill(0.25f);
        Assert.Equal(live, Run(m, x));
        float[] trained = Run(m, x, training: true);
        Assert.NotEqual(live, trained);

        // ResetParameters refreshes the frozen copy.
        m.ResetParameters(9);
        float[] frozenAfterReset = Run(m, x);
        long frozenBytes = m.WorkspaceBytes;
        m.UnfreezeParameters();
        Assert.True(m.WorkspaceBytes <= frozenBytes - 4L * m.Parameters.Length);
        Assert.False(m.ParametersFrozen);
        Assert.Equal(Run(m, x), frozenAfterReset);
        Assert.NotEqual(live, frozenAfterReset);
    }

    [Fact]
    public void LoadParametersRefreshesTheFrozenCopy()
    {
        using var m = new Lstm<float>(I, H);
        using var other = new Lstm<float>(I, H, seed: 5);
        var x = new float[B * T * I];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Cos(i);
        string path = Path.Combine(Path.GetTempPath(), $"hpc-frozen-{Guid.NewGuid():N}.safetensors");
        try
        {
            other.SaveSafeTensors(path);
            m.FreezeParameters();
            float[] before = Run(m, x);
            m.LoadSafeTensors(path);
            Assert.True(m.ParametersFrozen);
            float[] after = Run(m, x);
            Assert.NotEqual(before, after);
            Assert.Equal(Run(other, x), after);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void RecurrentLayerFreezesEveryModule()
    {
        // Inter-layer dropout gives one module per layer.
        var layer = new Recurrent<float>(RecurrentCell.Gru, 4, 6, numLayers: 2, returnSequences: true, dropout: 0.3, seed: 2);
        var shape = new Shape(2, 5, 4);
        var x = new float[shape.Length];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Sin(i);
        var live = new float[layer.OutputShape(shape).Length];
        layer.Forward(x, shape, live, training: false);
        layer.FreezeParameters();
        Assert.All(layer.Modules, m => Assert.True(m.ParametersFrozen));
        foreach (var m in layer.Modules) m.Parameters.Fill(0.1f);
        var frozen = new float[live.Length];
        layer.Forward(x, shape, frozen, training: false);
        Assert.Equal(live, frozen);
        layer.UnfreezeParameters();
        layer.Forward(x, shape, frozen, training: false);
        Assert.NotEqual(live, frozen);
    }

    [Fact]
    public void FreezingANonFiniteParameterThrowsAndFreezesNothing()
    {
        using var m = new Gru<double>(I, H);
        m.Parameters[7] = double.NaN;
        var e = Assert.Throws<ArgumentException>(() => m.FreezeParameters());
        Assert.Contains("parameters", e.Message);
        Assert.False(m.ParametersFrozen);
    }

    private static (float[] Y, float[] Grad, float[] Dx) Train(Lstm<float> m, float[] x, float[] dy, bool accumulate = false)
    {
        var y = Run(m, x, training: true);
        var dx = new float[x.Length];
        m.Backward(x, dy, dx, accumulate: accumulate);
        return (y, m.Gradients.ToArray(), dx);
    }

    [Fact]
    public void TrainingOnTheFrozenCopyEqualsLiveTrainingAndAccumulatesUntilRefrozen()
    {
        using var m = new Lstm<float>(I, H, numLayers: 2, bidirectional: true);
        var rng = new Random(4);
        float[] Random(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        float[] x = Random(B * T * I), x2 = Random(B * T * I), dy = Random(B * T * m.OutputSize);
        var live = Train(m, x, dy);
        var live2 = Train(m, x2, dy);
        float[] original = m.Parameters.ToArray();

        m.FreezeParameters(training: true);
        Assert.True(m.ParametersFrozenForTraining);
        m.Parameters.Fill(0.25f);  // not seen until frozen again
        var frozen = Train(m, x, dy);
        // Batch 3, H 20: live and frozen calls both pack every weight, so bit for bit.
        Assert.Equal(live.Y, frozen.Y);
        Assert.Equal(live.Grad, frozen.Grad);
        Assert.Equal(live.Dx, frozen.Dx);
        // Two micro-batches accumulate the gradients of the frozen weights.
        var sum = Train(m, x2, dy, accumulate: true);
        for (int i = 0; i < sum.Grad.Length; i++) Assert.Equal(live.Grad[i] + live2.Grad[i], sum.Grad[i], 1e-5f);

        // Freezing again discards activations saved on the old copy; the new copy is what training then uses.
        Run(m, x, training: true);
        m.FreezeParameters(training: true);
        var e = Assert.Throws<InvalidOperationException>(() => m.Backward(x, dy));
        Assert.Contains("FreezeParameters", e.Message);
        Assert.NotEqual(live.Grad, Train(m, x, dy).Grad);  // the 0.25s
        // Frozen for inference only: training uses the live parameters again, and its activations survive a refreeze.
        original.CopyTo(m.Parameters);
        m.FreezeParameters();
        Assert.False(m.ParametersFrozenForTraining);
        Run(m, x, training: true);
        m.Parameters.Fill(0.5f);
        m.FreezeParameters();
        original.CopyTo(m.Parameters);
        var dx = new float[x.Length];
        m.Backward(x, dy, dx);
        Assert.Equal(live.Grad, m.Gradients.ToArray());
        m.UnfreezeParameters();
        Assert.False(m.ParametersFrozenForTraining);

        // Releasing the copy discards activations saved on it too; training then uses Parameters.
        m.FreezeParameters(training: true);
        Run(m, x, training: true);
        m.UnfreezeParameters();
        Assert.Throws<InvalidOperationException>(() => m.Backward(x, dy));
        Assert.Equal(live.Grad, Train(m, x, dy).Grad);
    }

    [Fact]
    public void TrainingOnTheFrozenCopyAllocatesNothing()
    {
        using var m = new Gru<float>(8, 16, numLayers: 2);
        m.FreezeParameters(training: true);
        var x = new float[4 * 10 * 8];
        var y = new float[4 * 10 * 16];
        var dx = new float[x.Length];
        void Step() { m.Forward(x, 4, 10, y, training: true); m.Backward(x, y, dx); }
        Allocations.SomeWindowAllocatesNothing(Step);
    }

    [Fact]
    public void FrozenInferenceAllocatesNothing()
    {
        using var m = new Gru<float>(8, 16, numLayers: 2);
        m.FreezeParameters();
        var x = new float[4 * 10 * 8];
        var y = new float[4 * 10 * 16];
        Allocations.SomeWindowAllocatesNothing(() => m.Forward(x, 4, 10, y));
    }
}
