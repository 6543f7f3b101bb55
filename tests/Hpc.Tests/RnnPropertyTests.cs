using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace Hpc.Tests;

/// <summary>FsCheck properties over random cells, layers 1-3, both directions, both layouts, batch 1-4, T 1-8,
/// sizes 1-6, with and without initial states. Each prints how many cases it checked.</summary>
public class RnnPropertyTests(ITestOutputHelper output)
{
    private void Report(string property, int cases, string detail = "")
    {
        string line = $"{property}: {cases} random cases checked{detail}";
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static (double[] Y, double[] Hn, double[] Cn) Run(RecurrentModule<double> m, RnnCase c, RnnCase.Data d, bool training = false)
    {
        var y = new double[c.YLen];
        var hn = new double[c.StateLen];
        var cn = c.HasC ? new double[c.StateLen] : [];
        m.Forward(d.X, c.Batch, c.SeqLen, y, d.H0, d.C0, hn, cn, training);
        return (y, hn, cn);
    }

    /// <summary>
    /// Every analytic gradient (x, h0, c0, every weight and bias) equals a central finite difference in float64:
    /// central differences at steps h, 2h and 4h (h = 1e-3), combined by two Richardson extrapolations (error O(h^6)).
    /// Relative error |analytic - numeric| / max(|analytic|, |numeric|, 1e-5) must be &lt;= 1e-6; NaN fails.
    /// For relu cells an entry whose two first-level extrapolations disagree has a relu kink (at 0, where no
    /// derivative exists) inside the stencil; such entries are counted, reported and must stay rare (2-4 % seen; at most 10 %).
    /// </summary>
    [Fact]
    public void AnalyticGradientsEqualCentralFiniteDifferences()
    {
        const double h = 1e-3, tolerance = 1e-6, floor = 1e-5;
        long entries = 0, kinks = 0, kinkEligible = 0;
        double worst = 0;
        int cases = Property.Check(RnnCase.Generator(), 300, c =>
        {
            using var m = c.Create<double>();
            m.CheckFinite = false;
            var d = c.MakeData();
            Run(m, c, d, training: true);
            var dx = new double[c.XLen];
            var dh0 = c.InitialState ? new double[c.StateLen] : [];
            var dc0 = c.InitialState && c.HasC ? new double[c.StateLen] : [];
            m.Backward(d.X, d.Gy, dx, d.Gh, d.Gc, dh0, dc0);
            double[] dp = m.Gradients.ToArray();

            var y = new double[c.YLen];
            var hn = new double[c.StateLen];
            var cn = c.HasC ? new double[c.StateLen] : [];
            double Loss()
            {
                m.Forward(d.X, c.Batch, c.SeqLen, y, d.H0, d.C0, hn, cn);
                return Num.Dot(y, d.Gy) + Num.Dot(hn, d.Gh) + (c.HasC ? Num.Dot(cn, d.Gc) : 0);
            }
            void CheckAll(string name, Func<int, double> get, Action<int, double> set, int n, double[] analytic)
            {
                for (int i = 0; i < n; i++)
                {
                    double keep = get(i);
                    double At(double delta) { set(i, keep + delta); return Loss(); }
                    double d1 = (At(h) - At(-h)) / (2 * h);
                    double d2 = (At(2 * h) - At(-2 * h)) / (4 * h);
                    double d4 = (At(4 * h) - At(-4 * h)) / (8 * h);
                    set(i, keep);
                    // Richardson: D(h) = f' + a h^2 + b h^4 + ...; two eliminations leave O(h^6).
                    double r1 = (4 * d1 - d2) / 3, r2 = (4 * d2 - d4) / 3;
                    double numeric = (16 * r1 - r2) / 15;
                    double a = analytic[i];
                    entries++;
                    if (c.Cell == RecurrentCell.RnnRelu)
                    {
                        kinkEligible++;
                        // Smooth: r1 and r2 agree to O(h^4); across a kink they do not follow the power law and part.
                        if (Math.Abs(r1 - r2) > 0.1 * tolerance * Math.Max(Math.Max(Math.Abs(r1), Math.Abs(r2)), floor)) { kinks++; continue; }
                    }
                    double err = Math.Abs(a - numeric) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), floor);
                    if (!(err <= tolerance))
                        throw new Exception($"d{name}[{i}]: analytic {a:R}, numeric {numeric:R}, relative error {err:G3} > {tolerance:G3}");
                    worst = Math.Max(worst, err);
                }
            }
            CheckAll("x", i => d.X[i], (i, v) => d.X[i] = v, d.X.Length, dx);
            if (c.InitialState) CheckAll("h0", i => d.H0[i], (i, v) => d.H0[i] = v, d.H0.Length, dh0);
            if (c.InitialState && c.HasC) CheckAll("c0", i => d.C0[i], (i, v) => d.C0[i] = v, d.C0.Length, dc0);
            foreach (var p in m.ParameterInfos)
                CheckAll(p.Name, i => m.Parameters[p.Offset + i], (i, v) => m.Parameters[p.Offset + i] = v, p.Length, dp[p.Offset..(p.Offset + p.Length)]);
        });
        Report(nameof(AnalyticGradientsEqualCentralFiniteDifferences), cases,
            $", {entries} gradient entries, worst relative error {worst:G3}, {kinks} relu-kink entries skipped of {kinkEligible}");
        Assert.True(kinks <= kinkEligible / 10 + 5, $"{kinks} of {kinkEligible} relu entries straddled a kink: too many to be kinks");
    }

    [Fact]
    public void Float32AgreesWithFloat64()
    {
        double worst = 0;
        int cases = Property.Check(RnnCase.Generator(), int.Parse(Environment.GetEnvironmentVariable("HPC_F32_CASES") ?? "150"), c =>
        {
            var d = c.MakeData();
            using var m64 = c.Create<double>();
            using var m32 = c.Create<float>();
            for (int i = 0; i < m64.Parameters.Length; i++) m32.Parameters[i] = (float)m64.Parameters[i];
            var (y, hn, cn) = Run(m64, c, d, training: true);
            var y32 = new float[c.YLen];
            var hn32 = new float[c.StateLen];
            var cn32 = c.HasC ? new float[c.StateLen] : [];
            m32.Forward(Num.ToSingle(d.X), c.Batch, c.SeqLen, y32, Num.ToSingle(d.H0), Num.ToSingle(d.C0), hn32, cn32, training: true);
            var dx = new double[c.XLen];
            var dx32 = new float[c.XLen];
            m64.Backward(d.X, d.Gy, dx, d.Gh, d.Gc);
            m32.Backward(Num.ToSingle(d.X), Num.ToSingle(d.Gy), dx32, Num.ToSingle(d.Gh), Num.ToSingle(d.Gc));
            var errs = new List<(string, double)>
            {
                ("output", Num.MaxRel<double>(Num.ToDouble(y32), y)),
                ("hn", Num.MaxRel<double>(Num.ToDouble(hn32), hn)),
                ("dx", Num.MaxRel<double>(Num.ToDouble(dx32), dx)),
            };
            if (c.HasC) errs.Add(("cn", Num.MaxRel<double>(Num.ToDouble(cn32), cn)));
            // Parameter gradients as one vector: a single-element tensor (a peephole with H = 1) can be a sum that nearly
            // cancels (5e-8 among gradients of 1e-3), which float32 gets right to its precision relative to the
            // gradient's scale but not relative to itself.
            errs.Add(("parameter gradients", Num.MaxRel<double>(Num.ToDouble(m32.Gradients.ToArray()), m64.Gradients.ToArray())));
            foreach (var (name, e) in errs)
            {
                Assert.True(e <= 1e-4, $"{name}: float32 vs float64 relative error {e:G3} > 1e-4");
                worst = Math.Max(worst, e);
            }
        });
        Report(nameof(Float32AgreesWithFloat64), cases, $", worst relative error {worst:G3}");
    }

    private static double[] Rows(double[] a, RnnCase c, int row, int features, bool state)
    {
        // state tensors are [L*D, B, H]; sequences are [B, T, F] or [T, B, F]
        int outer = state ? c.Layers * c.D : (c.BatchFirst ? 1 : c.SeqLen);
        if (a.Length == 0) return a;
        var r = new List<double>();
        if (state || !c.BatchFirst)
            for (int o = 0; o < outer; o++) r.AddRange(a.AsSpan((o * c.Batch + row) * features, features).ToArray());
        else
            r.AddRange(a.AsSpan(row * c.SeqLen * features, c.SeqLen * features).ToArray());
        return r.ToArray();
    }

    [Fact]
    public void ABatchEqualsItsRowsRunOneAtATime()
    {
        int cases = Property.Check(RnnCase.Generator(), 60, c =>
        {
            var d = c.MakeData();
            using var m = c.Create<double>();
            var (y, hn, cn) = Run(m, c, d, training: true);
            var dx = new double[c.XLen];
            var dh0 = new double[c.StateLen];
            m.Backward(d.X, d.Gy, dx, d.Gh, d.Gc, dh0);
            double[] dp = m.Gradients.ToArray();
            var sum = new double[dp.Length];
            var one = c with { Batch = 1 };
            for (int b = 0; b < c.Batch; b++)
            {
                var rd = new RnnCase.Data(Rows(d.X, c, b, c.Input, false), Rows(d.H0, c, b, c.Hidden, true),
                    Rows(d.C0, c, b, c.Hidden, true), Rows(d.Gy, c, b, c.D * c.Hidden, false), Rows(d.Gh, c, b, c.Hidden, true),
                    Rows(d.Gc, c, b, c.Hidden, true));
                var (yr, hnr, cnr) = Run(m, one, rd, training: true);
                var dxr = new double[one.XLen];
                var dh0r = new double[one.StateLen];
                m.Backward(rd.X, rd.Gy, dxr, rd.Gh, rd.Gc, dh0r);
                for (int i = 0; i < sum.Length; i++) sum[i] += m.Gradients[i];
                Assert.True(Num.MaxRel<double>(yr, Rows(y, c, b, c.D * c.Hidden, false)) <= 1e-12, $"output row {b}");
                Assert.True(Num.MaxRel<double>(hnr, Rows(hn, c, b, c.Hidden, true)) <= 1e-12, $"hn row {b}");
                if (c.HasC) Assert.True(Num.MaxRel<double>(cnr, Rows(cn, c, b, c.Hidden, true)) <= 1e-12, $"cn row {b}");
                Assert.True(Num.MaxRel<double>(dxr, Rows(dx, c, b, c.Input, false)) <= 1e-12, $"dx row {b}");
                Assert.True(Num.MaxRel<double>(dh0r, Rows(dh0, c, b, c.Hidden, true)) <= 1e-12, $"dh0 row {b}");
            }
            Assert.True(Num.MaxRel<double>(sum, dp) <= 1e-12, "parameter gradients of the batch = sum over rows");
        });
        Report(nameof(ABatchEqualsItsRowsRunOneAtATime), cases);
    }

    private static double[] ReverseTime(double[] a, RnnCase c, int features)
    {
        var r = new double[a.Length];
        for (int b = 0; b < c.Batch; b++)
            for (int t = 0; t < c.SeqLen; t++)
            {
                int src = c.BatchFirst ? (b * c.SeqLen + t) : (t * c.Batch + b);
                int dst = c.BatchFirst ? (b * c.SeqLen + c.SeqLen - 1 - t) : ((c.SeqLen - 1 - t) * c.Batch + b);
                Array.Copy(a, src * features, r, dst * features, features);
            }
        return r;
    }

    [Fact]
    public void ABidirectionalLayerEqualsAForwardRunPlusARunOnTheReversedSequence()
    {
        int cases = Property.Check(RnnCase.Generator(maxLayers: 1).Select(c => c with { Layers = 1, Bidirectional = true }), 100, c =>
        {
            var d = c.MakeData();
            using var bi = c.Create<double>();
            var (y, hn, cn) = Run(bi, c, d);
            var uni = c with { Bidirectional = false };
            int bh = c.Batch * c.Hidden;
            double[] half(double[] s, int k) => s.Length == 0 ? s : s.AsSpan(k * bh, bh).ToArray();
            using var fwd = uni.Create<double>();
            using var rev = uni.Create<double>();
            foreach (var p in fwd.ParameterInfos)
            {
                bi.Parameter(p.Name).CopyTo(fwd.Parameter(p.Name));
                bi.Parameter(p.Name + "_reverse").CopyTo(rev.Parameter(p.Name));
            }
            var (yf, hnf, cnf) = Run(fwd, uni, d with { H0 = half(d.H0, 0), C0 = half(d.C0, 0) });
            var (yr, hnr, cnr) = Run(rev, uni, d with { X = ReverseTime(d.X, c, c.Input), H0 = half(d.H0, 1), C0 = half(d.C0, 1) });
            yr = ReverseTime(yr, uni, c.Hidden);
            int rows = c.Batch * c.SeqLen, hid = c.Hidden;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < hid; j++)
                {
                    Assert.True(Math.Abs(y[r * 2 * hid + j] - yf[r * hid + j]) <= 1e-12 * (1 + Math.Abs(yf[r * hid + j])), "forward half");
                    Assert.True(Math.Abs(y[r * 2 * hid + hid + j] - yr[r * hid + j]) <= 1e-12 * (1 + Math.Abs(yr[r * hid + j])), "reverse half");
                }
            Assert.True(Num.MaxRel<double>(hn, [.. hnf, .. hnr]) <= 1e-12, "hn");
            if (c.HasC) Assert.True(Num.MaxRel<double>(cn, [.. cnf, .. cnr]) <= 1e-12, "cn");
        });
        Report(nameof(ABidirectionalLayerEqualsAForwardRunPlusARunOnTheReversedSequence), cases);
    }

    [Fact]
    public void InferenceForwardEqualsTrainingForward()
    {
        int cases = Property.Check(RnnCase.Generator(), 150, c =>
        {
            var d = c.MakeData();
            using var m = c.Create<double>();
            var (y1, hn1, cn1) = Run(m, c, d, training: false);
            var (y2, hn2, cn2) = Run(m, c, d, training: true);
            Assert.Equal(y1, y2);
            Assert.Equal(hn1, hn2);
            Assert.Equal(cn1, cn2);
        });
        Report(nameof(InferenceForwardEqualsTrainingForward), cases);
    }
}
