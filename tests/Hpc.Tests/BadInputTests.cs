using Xunit;

namespace Hpc.Tests;

/// <summary>Every public call validates before the native call and names the argument, expected and actual.</summary>
public class BadInputTests
{
    private static Lstm<double> Lstm() => new(3, 4, numLayers: 2, bidirectional: true);

    [Theory]
    [InlineData(0, 4, 1)]
    [InlineData(3, 0, 1)]
    [InlineData(3, 4, 0)]
    [InlineData(-1, 4, 1)]
    public void ConstructorRejectsNonPositiveSizes(int input, int hidden, int layers)
    {
        var e = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new Gru<float>(input, hidden, layers));
        Assert.Contains("must be > 0", e.Message);
    }

    [Fact]
    public void UnsupportedElementTypeIsRejected() =>
        Assert.Throws<NotSupportedException>(() => new Rnn<Half>(2, 2));

    [Fact]
    public void WrongInputLengthNamesArgumentExpectedAndActual()
    {
        using var m = Lstm();
        var e = Assert.Throws<ArgumentException>(() => m.Forward(new double[29], 2, 5, new double[80]));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("expected 30 elements (shape [2, 5, 3]), got 29", e.Message);
    }

    [Fact]
    public void WrongOutputLengthIsRejected()
    {
        using var m = Lstm();
        var e = Assert.Throws<ArgumentException>(() => m.Forward(new double[30], 2, 5, new double[40]));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("expected 80 elements (shape [2, 5, 8]), got 40", e.Message);
    }

    [Fact]
    public void WrongStateLengthsAreRejected()
    {
        using var m = Lstm();
        var x = new double[30];
        var y = new double[80];
        Assert.Equal("h0", Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y, h0: new double[15])).ParamName);
        Assert.Equal("c0", Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y, c0: new double[17])).ParamName);
        Assert.Equal("hn", Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y, hn: new double[1])).ParamName);
        var e = Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y, cn: new double[8]));
        Assert.Contains("expected 32 elements (shape [4, 2, 4]), got 8", e.Message);
    }

    [Fact]
    public void CellStateIsRejectedForCellsWithoutOne()
    {
        using var m = new Gru<float>(2, 3);
        var e = Assert.Throws<ArgumentException>(() => m.Forward(new float[2], 1, 1, new float[3], c0: new float[3]));
        Assert.Equal("c0", e.ParamName);
        Assert.Contains("has no cell state", e.Message);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(2, 0)]
    [InlineData(-2, 5)]
    public void NonPositiveBatchOrSequenceLengthIsRejected(int batch, int seq)
    {
        using var m = Lstm();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Forward(new double[30], batch, seq, new double[80]));
        Assert.Equal(batch <= 0 ? "batch" : "seqLen", e.ParamName);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void NonFiniteInputIsRejectedWhenCheckingIsOn(double bad)
    {
        using var m = Lstm();
        var x = new double[30];
        x[17] = bad;
        var e = Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, new double[80]));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("input[17]", e.Message);
        m.CheckFinite = false;
        m.Forward(x, 2, 5, new double[80]);  // the caller opted out: no exception
    }

    [Fact]
    public void NonFiniteStatesParametersAndGradientsAreRejected()
    {
        using var m = Lstm();
        var x = new double[30];
        var y = new double[80];
        var h0 = new double[32];
        h0[3] = double.NaN;
        Assert.Equal("h0", Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y, h0: h0)).ParamName);
        m.Forward(x, 2, 5, y, training: true);
        var dy = new double[80];
        dy[79] = double.PositiveInfinity;
        Assert.Equal("gradOutput", Assert.Throws<ArgumentException>(() => m.Backward(x, dy)).ParamName);
        m.Parameter("bias_hh_l1_reverse")[2] = double.NaN;
        Assert.Equal("parameters", Assert.Throws<ArgumentException>(() => m.Forward(x, 2, 5, y)).ParamName);
    }

    [Fact]
    public void BackwardWithoutTrainingForwardThrows()
    {
        using var m = Lstm();
        Assert.Throws<InvalidOperationException>(() => m.Backward(new double[30], new double[80]));
        m.Forward(new double[30], 2, 5, new double[80], training: true);
        m.Backward(new double[30], new double[80]);
        m.Forward(new double[30], 2, 5, new double[80]);
        Assert.Throws<InvalidOperationException>(() => m.Backward(new double[30], new double[80]));
    }

    [Fact]
    public void BackwardRejectsWrongLengths()
    {
        using var m = Lstm();
        m.Forward(new double[30], 2, 5, new double[80], training: true);
        Assert.Equal("gradOutput", Assert.Throws<ArgumentException>(() => m.Backward(new double[30], new double[81])).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => m.Backward(new double[3], new double[80])).ParamName);
        Assert.Equal("gradInput", Assert.Throws<ArgumentException>(() => m.Backward(new double[30], new double[80], gradInput: new double[31])).ParamName);
        Assert.Equal("gradH0", Assert.Throws<ArgumentException>(() => m.Backward(new double[30], new double[80], gradH0: new double[2])).ParamName);
    }

    [Fact]
    public void UnknownParameterNameListsTheKnownOnes()
    {
        using var m = new Rnn<float>(2, 2);
        var e = Assert.Throws<KeyNotFoundException>(() => m.Parameter("weight_ih_l1"));
        Assert.Contains("weight_ih_l0", e.Message);
    }

    [Fact]
    public void DisposedModuleThrowsObjectDisposed()
    {
        var m = new Rnn<float>(2, 2);
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => m.Forward(new float[2], 1, 1, new float[2]));
    }

    /// <summary>Disposing a recurrent layer (one fused module, or separate modules with dropout) or the model that
    /// holds it frees every module: a later call throws ObjectDisposedException; disposing twice is harmless.</summary>
    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(2, 0.5)]
    public void DisposedRecurrentLayerAndModelThrowObjectDisposed(int layers, double dropout)
    {
        var shape = new Hpc.Training.Shape(1, 2, 3);
        var x = new float[shape.Length];
        var layer = new Hpc.Training.Recurrent<float>(RecurrentCell.Lstm, 3, 4, numLayers: layers, dropout: dropout);
        layer.Forward(x, shape, new float[4], training: false);
        layer.Dispose();
        layer.Dispose();
        Assert.All(layer.Modules, m => Assert.Throws<ObjectDisposedException>(() => m.Forward(new float[2 * m.InputSize], 1, 2, new float[2 * m.HiddenSize])));
        Assert.Throws<ObjectDisposedException>(() => layer.Forward(x, shape, new float[4], training: false));
        var inModel = new Hpc.Training.Recurrent<float>(RecurrentCell.Gru, 3, 4, numLayers: layers, dropout: dropout);
        new Hpc.Training.Sequential<float>(inModel).Dispose();
        Assert.Throws<ObjectDisposedException>(() => inModel.Forward(x, shape, new float[4], training: false));
    }

    [Fact]
    public void ParameterNamesShapesAndOrderFollowPyTorch()
    {
        using var m = new Lstm<float>(3, 4, numLayers: 2, bidirectional: true, peephole: true);
        Assert.Equal(new[] { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "peephole_i_l0", "peephole_f_l0", "peephole_o_l0" },
            m.ParameterInfos.Take(7).Select(p => p.Name));
        Assert.Equal(new[] { 16, 8 }, m.Info("weight_ih_l1_reverse").Shape);
        Assert.Equal(new[] { 4 }, m.Info("peephole_o_l1_reverse").Shape);
        Assert.Equal(m.Parameters.Length, m.ParameterInfos.Sum(p => p.Length));
    }

    [Fact]
    public void ParametersAreSeededAndInPyTorchsDefaultRange()
    {
        using var a = new Gru<double>(3, 16, seed: 7);
        using var b = new Gru<double>(3, 16, seed: 7);
        using var c = new Gru<double>(3, 16, seed: 8);
        Assert.True(a.Parameters.SequenceEqual(b.Parameters));
        Assert.False(a.Parameters.SequenceEqual(c.Parameters));
        double k = 1 / Math.Sqrt(16);
        foreach (double v in a.Parameters) Assert.InRange(v, -k, k);
    }
}
