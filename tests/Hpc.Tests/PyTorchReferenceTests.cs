using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

/// <summary>
/// Outputs, final states and every gradient agree with PyTorch (and, for peephole LSTMs, the shared float64 NumPy
/// reference) to 1e-10 relative (max|ours - ref| / max|ref| per tensor), in float64.
/// </summary>
public class PyTorchReferenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-10;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(TestData.Path("rnn"), "*.json").OrderBy(f => f))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void AllSharedAndGeneratedCasesArePresent()
    {
        var names = Directory.GetFiles(TestData.Path("rnn"), "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        Assert.True(names.Count >= 13, $"expected the 6 shared and 7 generated cases, found {names.Count}");
        Assert.Contains("lstm_peephole_l1_uni_b2_t5_i3_h4_state", names);
        Assert.Contains("gru_l1_uni_b2_t6_i3_h5_state", names);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(string file)
    {
        var r = new RnnReference(TestData.Path("rnn", file));
        using var m = RecurrentModules.Create<double>(r.CellKind, r.InputSize, r.HiddenSize, r.Layers, r.Bidirectional, r.BatchFirst);
        Assert.Equal(r.ParamNames, m.ParameterInfos.Select(p => p.Name));
        foreach (var p in m.ParameterInfos)
        {
            Assert.Equal(r.Shape("params", p.Name), p.Shape);
            r.Array("params", p.Name).CopyTo(m.Parameter(p.Name));
        }
        double[] x = r.Array("inputs", "x");
        double[] h0 = r.HasInitialState ? r.Array("inputs", "h0") : [];
        double[] c0 = r.HasInitialState && m.HasCellState ? r.Array("inputs", "c0") : [];
        var y = new double[r.Array("outputs", "output").Length];
        var hn = new double[m.NumLayers * m.NumDirections * r.Batch * r.HiddenSize];
        var cn = m.HasCellState ? new double[hn.Length] : [];
        m.Forward(x, r.Batch, r.SeqLen, y, h0, c0, hn, cn, training: true);

        var dx = new double[x.Length];
        var dh0 = new double[hn.Length];
        var dc0 = m.HasCellState ? new double[hn.Length] : [];
        m.Backward(x, r.Array("cotangents", "G"), dx, r.Array("cotangents", "Gh"),
            m.HasCellState ? r.Array("cotangents", "Gc") : [], dh0, dc0);

        var errors = new List<(string, double)>
        {
            ("output", Num.MaxRel<double>(y, r.Array("outputs", "output"))),
            ("h_n", Num.MaxRel<double>(hn, r.Array("outputs", "h_n"))),
            ("grad x", Num.MaxRel<double>(dx, r.Array("grads", "x"))),
        };
        if (m.HasCellState) errors.Add(("c_n", Num.MaxRel<double>(cn, r.Array("outputs", "c_n"))));
        if (r.Has("grads", "h0")) errors.Add(("grad h0", Num.MaxRel<double>(dh0, r.Array("grads", "h0"))));
        if (r.Has("grads", "c0")) errors.Add(("grad c0", Num.MaxRel<double>(dc0, r.Array("grads", "c0"))));
        foreach (var p in m.ParameterInfos)
            errors.Add(("grad " + p.Name, Num.MaxRel<double>(m.Gradient(p.Name), r.Array("grads", p.Name))));
        double worst = errors.Max(e => double.IsNaN(e.Item2) ? double.PositiveInfinity : e.Item2);
        output.WriteLine($"{r.Name}: {errors.Count} tensors, worst relative error {worst:G3}");
        foreach (var (name, err) in errors)
            Assert.True(err <= Tolerance, $"{r.Name}: {name} relative error {err:G3} > {Tolerance:G3}");
    }
}
