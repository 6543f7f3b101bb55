using Xunit;

namespace Hpc.Tests;

/// <summary>dL/dh_t reported by Backward equals dy_t plus the gradient that the rest of the sequence sends back
/// into h_t, computed independently by splitting the sequence at t and running the second part from (h_t, c_t).</summary>
public class TopHiddenGradientTests
{
    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.RnnTanh)]
    [InlineData(RecurrentCell.LstmPeephole)]
    public void EqualsTheInitialStateGradientOfTheRemainingSequence(RecurrentCell cell)
    {
        const int B = 2, T = 7, I = 3, H = 4;
        var rng = new Random(5);
        using var m = RecurrentModules.Create<double>(cell, I, H, seed: 3);
        double[] x = Num.Random(rng, B * T * I), gy = Num.Random(rng, B * T * H), gh = Num.Random(rng, B * H);
        var y = new double[B * T * H];
        m.Forward(x, B, T, y, training: true);
        var dhTop = new double[y.Length];
        m.Backward(x, gy, gradHn: gh, gradTopHidden: dhTop);
        for (int t = 0; t < T; t++)
        {
            var expected = new double[B * H];
            if (t == T - 1) Array.Copy(gh, expected, B * H);
            else
            {
                // First part: steps 0..t give h_t, c_t.
                int t1 = t + 1, t2 = T - t1;
                var x1 = new double[B * t1 * I];
                var x2 = new double[B * t2 * I];
                var g2 = new double[B * t2 * H];
                for (int b = 0; b < B; b++)
                {
                    Array.Copy(x, b * T * I, x1, b * t1 * I, t1 * I);
                    Array.Copy(x, (b * T + t1) * I, x2, b * t2 * I, t2 * I);
                    Array.Copy(gy, (b * T + t1) * H, g2, b * t2 * H, t2 * H);
                }
                var hT = new double[B * H];
                var cT = m.HasCellState ? new double[B * H] : [];
                m.Forward(x1, B, t1, new double[B * t1 * H], hn: hT, cn: cT);
                m.Forward(x2, B, t2, new double[B * t2 * H], h0: hT, c0: cT, training: true);
                var dh0 = new double[B * H];
                m.Backward(x2, g2, gradHn: gh, gradH0: dh0);
                expected = dh0;
            }
            for (int b = 0; b < B; b++)
                for (int j = 0; j < H; j++)
                {
                    double e = expected[b * H + j] + gy[(b * T + t) * H + j];
                    Assert.True(Math.Abs(dhTop[(b * T + t) * H + j] - e) <= 1e-12 * (1 + Math.Abs(e)), $"t={t} b={b} j={j}");
                }
        }
    }
}
