using FsCheck;
using FsCheck.Fluent;

namespace Hpc.Tests;

/// <summary>A random recurrent configuration plus the seed of its data and parameters.</summary>
public sealed record RnnCase(RecurrentCell Cell, int Layers, bool Bidirectional, bool BatchFirst, int Batch, int SeqLen,
    int Input, int Hidden, bool InitialState, int Seed)
{
    public int D => Bidirectional ? 2 : 1;
    public bool HasC => Cell is RecurrentCell.Lstm or RecurrentCell.LstmPeephole;
    public int XLen => Batch * SeqLen * Input;
    public int YLen => Batch * SeqLen * D * Hidden;
    public int StateLen => Layers * D * Batch * Hidden;

    public override string ToString() =>
        $"{Cell} L={Layers} {(Bidirectional ? "bi" : "uni")} {(BatchFirst ? "batch-first" : "time-major")} B={Batch} T={SeqLen} I={Input} H={Hidden} state={InitialState} seed={Seed}";

    public static Gen<RnnCase> Generator(int maxLayers = 3, int maxBatch = 4, int maxSeq = 8, int maxSize = 6) =>
        from cell in Gen.Elements(RecurrentCell.RnnTanh, RecurrentCell.RnnRelu, RecurrentCell.Lstm, RecurrentCell.LstmPeephole, RecurrentCell.Gru)
        from layers in Gen.Choose(1, maxLayers)
        from bi in Gen.Elements(false, true)
        from bf in Gen.Elements(false, true)
        from b in Gen.Choose(1, maxBatch)
        from t in Gen.Choose(1, maxSeq)
        from i in Gen.Choose(1, maxSize)
        from h in Gen.Choose(1, maxSize)
        from st in Gen.Elements(false, true)
        from seed in Gen.Choose(0, int.MaxValue)
        select new RnnCase(cell, layers, bi, bf, b, t, i, h, st, seed);

    public RecurrentModule<T> Create<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        RecurrentModules.Create<T>(Cell, Input, Hidden, Layers, Bidirectional, BatchFirst, (ulong)Seed);

    /// <summary>Inputs, states and loss cotangents drawn from the case's seed.</summary>
    public Data MakeData()
    {
        var rng = new Random(Seed);
        return new Data(Num.Random(rng, XLen), InitialState ? Num.Random(rng, StateLen) : [],
            InitialState && HasC ? Num.Random(rng, StateLen) : [], Num.Random(rng, YLen), Num.Random(rng, StateLen),
            HasC ? Num.Random(rng, StateLen) : []);
    }

    public sealed record Data(double[] X, double[] H0, double[] C0, double[] Gy, double[] Gh, double[] Gc);
}

/// <summary>Runs an FsCheck property with a fixed number of cases and reports how many were checked.</summary>
internal static class Property
{
    public static int Check(Gen<RnnCase> gen, int cases, Action<RnnCase> body)
    {
        int count = 0;
        Prop.ForAll(gen.ToArbitrary(), (RnnCase c) =>
        {
            count++;
            try { body(c); }
            catch (Exception e) { throw new Exception($"Failed for case {c}: {e.Message}", e); }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true));
        return count;
    }
}
