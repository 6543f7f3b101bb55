using System.Globalization;
using Hpc;
using Hpc.Hmm;
using Hpc.Training;
using Spectre.Console;

namespace Hpc.Cli.Demo;

/// <summary>The lessons of <c>hpc demo</c>, each on built-in synthetic data, writing to the terminal and the report.</summary>
internal sealed class DemoRunner(IAnsiConsole console, bool quick, bool quiet, ulong seed, Report report)
{
    public static readonly string[] Parts = ["gradients", "exploding", "regression", "optimizers", "hmm", "text"];

    private static string G(double v) => double.IsNaN(v) ? "-" : v.ToString("G3", CultureInfo.InvariantCulture);
    private static string P(double v) => double.IsNaN(v) ? "-" : v.ToString("P1", CultureInfo.InvariantCulture);
    private static double[] Range(int n, int start = 0) => Enumerable.Range(start, n).Select(i => (double)i).ToArray();

    public void Run(string part)
    {
        console.Write(new Rule($"[bold]{part}[/]").LeftJustified());
        switch (part)
        {
            case "gradients": Gradients(); break;
            case "exploding": Exploding(); break;
            case "regression": Regression(); break;
            case "optimizers": Optimizers(); break;
            case "hmm": HiddenMarkov(); break;
            case "text": Text(); break;
        }
    }

    /// <summary>Trains with a progress bar when the terminal is interactive, one line per epoch when not quiet.</summary>
    private TrainingHistory Train(string label, Sequential<float> model, Optimizer<float> opt, LossKind loss, float[] x, Shape sample, float[] y, TrainingOptions options)
    {
        if (!quiet && console.Profile.Capabilities.Interactive)
        {
            TrainingHistory? h = null;
            console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: options.Epochs);
                options.OnBatch = (e, b, n, _) => task.Value = e - 1 + (double)b / n;
                h = Trainer.Fit(model, opt, loss, x, sample, y, options);
                task.Value = options.Epochs;
            });
            return h!;
        }
        if (!quiet) options.Log = new PrefixWriter(console, label);
        return Trainer.Fit(model, opt, loss, x, sample, y, options);
    }

    private sealed class PrefixWriter(IAnsiConsole console, string prefix) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void WriteLine(string? value) => console.WriteLine($"  {prefix}: {value}");
    }

    private void Gradients()
    {
        int n = quick ? 300 : 1000, epochs = quick ? 2 : 5;
        var (x, y) = SyntheticData.MeanSign(n, 50, seed);
        var section = new Section("gradients", "Vanishing gradients: SimpleRNN vs LSTM vs GRU")
            .Text($"Mean-sign task: is the mean of 50 uniform values positive? {n} sequences, 10 units (tanh), {epochs} epochs of Adam (lr 1e-3, Keras's default), 20 % held out, " +
                  "Keras's default initialisation (Glorot input weights, orthogonal recurrent weights, forget-gate bias 1 for the LSTM). " +
                  "The diagnostics record every parameter's gradient norm each step and ||dL/dh_t|| for every time step of the recurrent layer, averaged over training. " +
                  "The last row is the SimpleRNN with PyTorch's default initialisation U(-1/sqrt(H), 1/sqrt(H)). A ratio ||dL/dh_0|| / ||dL/dh_49|| below 1e-3 is classified as vanishing. " +
                  "Read the table for what happened in this run: with orthogonal recurrent weights the gradient reaches the early steps and the cells learn; " +
                  "where the ratio collapses (typically the SimpleRNN with PyTorch's initialisation, around 1e-11), the early steps get no signal and accuracy stays near chance.");
        var rows = new List<string[]>();
        var hidden = new List<Series>();
        var table = new Table().AddColumns("model", "val. accuracy", "verdict", "ratio (all)", "ratio, epoch 1", "ratio, last epoch", "per-step factor");
        foreach (var (name, cell, keras) in new[] { ("SimpleRNN", RecurrentCell.RnnTanh, true), ("LSTM", RecurrentCell.Lstm, true), ("GRU", RecurrentCell.Gru, true),
                     ("SimpleRNN, PyTorch init", RecurrentCell.RnnTanh, false) })
        {
            using var model = new Sequential<float>(new Recurrent<float>(cell, 1, 10, seed: seed + 1), new Dense<float>(10, 1, seed: seed + 2));
            // Keras's defaults, as in the lesson: Glorot-uniform input weights, orthogonal recurrent weights, zero
            // biases, and a forget-gate bias of 1 for the LSTM (unit_forget_bias). The last row keeps PyTorch's
            // default U(-1/sqrt(H), 1/sqrt(H)) to show how much the initialisation matters.
            if (keras)
                Initializers.InitializeRecurrent(((Recurrent<float>)model.Layers[0]).Modules[0], RecurrentInit.GlorotOrthogonal, seed + 3,
                    forgetBias: cell == RecurrentCell.Lstm ? 1.0 : null);
            using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters));
            var diag = new GradientDiagnostics();
            var h = Train(name, model, adam, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 50, 1), y,
                new TrainingOptions { Epochs = epochs, BatchSize = 32, ValidationSplit = 0.2, Seed = seed, Diagnostics = diag });
            var r = diag.Classify();
            double acc = h.Epochs[^1].ValidationAccuracy;
            double first = diag.FirstToLastRatioOfEpoch(1), last = diag.FirstToLastRatioOfEpoch(epochs);
            rows.Add([name, P(acc), r.Verdict.ToString(), G(r.FirstToLastRatio), G(first), G(last), G(r.PerStepFactor)]);
            table.AddRow(name, P(acc), r.Verdict.ToString(), G(r.FirstToLastRatio), G(first), G(last), G(r.PerStepFactor));
            hidden.Add(new Series(name, Range(50), diag.HiddenGradientNorms));
            var layers = diag.ParameterNorms.Select(p => (p.Parameter, p.Norm)).ToList();
            section.Bars($"{name}: mean gradient norm per layer", "||grad|| (log)", layers, logY: true);
            console.Write(new BarChart().Label($"{name}: mean gradient norm per layer").Width(70)
                .AddItems(layers, l => new BarChartItem(l.Parameter, Math.Round(l.Norm, 6))));
        }
        console.Write(table);
        var norms = new Table().AddColumn("t");
        foreach (var s in hidden) norms.AddColumn(s.Name);
        foreach (int t in new[] { 0, 10, 20, 30, 40, 49 }) norms.AddRow([t.ToString(CultureInfo.InvariantCulture), .. hidden.Select(s => G(s.Y[t]))]);
        console.Write(norms.Title("||dL/dh_t|| by time step"));
        section.Table(["model", "val. accuracy", "verdict", "||dL/dh_0|| / ||dL/dh_49|| (all steps)", "same, epoch 1", "same, last epoch", "per-step factor"], rows)
               .Line("||dL/dh_t|| over time (mean over steps)", "time step t", "||dL/dh_t|| (log)", hidden, logY: true);
        report.Sections.Add(section);
    }

    private void Exploding()
    {
        int n = quick ? 256 : 800, epochs = quick ? 1 : 3;
        var (x, y) = SyntheticData.MeanSign(n, 50, seed + 10);
        var section = new Section("exploding", "Exploding gradients and clipping")
            .Text("The SimpleRNN of the previous lesson, but with its weights scaled by 3 (a large initialisation). " +
                  "The gradients explode either way: the verdict looks at the norm before clipping. Clipping to norm 1 bounds the update actually applied (see \"max norm applied\").");
        var norms = new List<Series>();
        var losses = new List<Series>();
        var rows = new List<string[]>();
        var table = new Table().AddColumns("run", "verdict", "max grad norm", "max norm applied", "final loss", "reason");
        foreach (var (name, clip) in new[] { ("no clipping", 0.0), ("clip norm 1", 1.0) })
        {
            using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.RnnTanh, 1, 10, seed: seed + 3), new Dense<float>(10, 1, seed: seed + 4));
            Initializers.InitializeRecurrent(((Recurrent<float>)model.Layers[0]).Modules[0], RecurrentInit.GlorotOrthogonal, seed + 5, scale: 3);
            using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters));
            var diag = new GradientDiagnostics();
            var stepLoss = new List<double>();
            var h = Train(name, model, adam, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 50, 1), y,
                new TrainingOptions { Epochs = epochs, BatchSize = 16, Seed = seed, ClipNorm = clip, Diagnostics = diag });
            var r = diag.Classify();
            var g = diag.GlobalNorms.ToArray();
            norms.Add(new Series(name, Range(g.Length, 1), g));
            losses.Add(new Series(name, h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.TrainLoss).ToArray()));
            double applied = diag.AppliedNorms.Max();
            rows.Add([name, r.Verdict.ToString(), G(r.MaxGradNorm), G(applied), G(h.Epochs[^1].TrainLoss), r.Reason]);
            table.AddRow(name, r.Verdict.ToString(), G(r.MaxGradNorm), G(applied), G(h.Epochs[^1].TrainLoss), Markup.Escape(r.Reason));
        }
        console.Write(table);
        section.Table(["run", "verdict", "max grad norm", "max norm applied", "final loss", "reason"], rows)
               .Line("Global gradient norm per step (before clipping)", "step", "norm (log)", norms, logY: true)
               .Line("Training loss per epoch", "epoch", "loss", losses);
        report.Sections.Add(section);
    }

    private void Regression()
    {
        int n = quick ? 256 : 1024, epochs = quick ? 20 : 100, every = quick ? 5 : 10;
        const int T = 20, I = 10;
        var rng = new SplitMix64(seed + 20);
        var x = new float[n * T * I];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int t = 0; t < T; t++)
                for (int f = 0; f < I; f++) x[(i * T + t) * I + f] = (float)(rng.NextDouble() * 2 - 1);
            for (int t = 0; t < T; t++) s += x[(i * T + t) * I] * 0.5 + x[(i * T + t) * I + 1] * x[(i * T + t) * I + 2] * 0.3;
            y[i] = (float)(s / Math.Sqrt(T));
        }
        using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.Lstm, I, 50, numLayers: 2, seed: seed + 21), new Dense<float>(50, 1, seed: seed + 22));
        using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters), lr: 1e-3);
        var h = Train("LSTM regression", model, adam, LossKind.MeanSquaredError, x, new Shape(0, T, I), y,
            new TrainingOptions { Epochs = epochs, BatchSize = 32, ValidationSplit = 0.2, Seed = seed, ClipNorm = 5.0 });
        var table = new Table().AddColumns("epoch", "train MSE", "val. MSE", "grad norm");
        var rows = h.Epochs.Where(e => e.Epoch % every == 0 || e.Epoch == 1).Select(e => new[] { e.Epoch.ToString(CultureInfo.InvariantCulture), G(e.TrainLoss), G(e.ValidationLoss), G(e.GradNorm) }).ToList();
        foreach (var r in rows) table.AddRow(r);
        console.Write(table);
        // Memory-efficient BPTT on the same network: one training step each way, the workspace measured.
        long Workspace(int every)
        {
            using var m = new Lstm<float>(I, 50, numLayers: 2, seed: seed + 21) { CheckpointEvery = every };
            var yy = new float[32 * T * 50];
            m.Forward(x.AsSpan(0, 32 * T * I), 32, T, yy, training: true);
            m.Backward(x.AsSpan(0, 32 * T * I), yy);
            return m.WorkspaceBytes;
        }
        long plainBytes = Workspace(0), ckBytes = Workspace(5);
        console.MarkupLine($"memory-efficient BPTT (checkpoint every 5 steps): workspace {plainBytes / 1024.0:F0} KiB -> {ckBytes / 1024.0:F0} KiB per batch of 32, identical gradients");
        double variance = y.Skip((int)(n * 0.8)).Select(v => (double)v).Aggregate((0.0, 0.0, 0), (a, v) => (a.Item1 + v, a.Item2 + v * v, a.Item3 + 1), a => a.Item2 / a.Item3 - Math.Pow(a.Item1 / a.Item3, 2));
        report.Sections.Add(new Section("regression", "LSTM regression")
            .Text($"Input 10, hidden 50, 2 layers, Adam lr 1e-3, gradient clipping at norm 5.0, {epochs} epochs; target a nonlinear function of the whole sequence " +
                  $"({n} sequences of {T} steps, 20 % held out). The variance of the validation targets is {G(variance)}: an MSE well below it means the network learned. " +
                  $"With memory-efficient BPTT (a checkpoint every 5 steps) the native workspace of this network for a batch of 32 goes from {plainBytes / 1024.0:F0} KiB to {ckBytes / 1024.0:F0} KiB, with bit-identical gradients.")
            .Table(["epoch", "train MSE", "val. MSE", "grad norm"], rows)
            .Line("Loss per epoch", "epoch", "MSE (log)", [
                new Series("train", h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.TrainLoss).ToArray()),
                new Series("validation", h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.ValidationLoss).ToArray())], logY: true));
    }

    private void Optimizers()
    {
        int n = quick ? 400 : 1000, epochs = quick ? 5 : 15;
        var (x, y) = SyntheticData.MeanSign(n, 20, seed + 30);
        var curves = new List<Series>();
        var rows = new List<string[]>();
        var table = new Table().AddColumns("optimizer", "final train loss", "val. accuracy");
        foreach (var name in new[] { "SGD (lr 0.1)", "RMSProp (lr 1e-3)", "Adam (lr 1e-3)" })
        {
            using var model = new Sequential<float>(new Recurrent<float>(RecurrentCell.Gru, 1, 16, seed: seed + 31), new Dense<float>(16, 1, seed: seed + 32));
            var ps = new ParameterSet<float>(model.Parameters);
            using Optimizer<float> opt = name[0] switch { 'S' => new Sgd<float>(ps, 0.1), 'R' => new RmsProp<float>(ps, 1e-3), _ => new Adam<float>(ps, 1e-3) };
            var h = Train(name, model, opt, LossKind.BinaryCrossEntropyWithLogits, x, new Shape(0, 20, 1), y,
                new TrainingOptions { Epochs = epochs, BatchSize = 32, ValidationSplit = 0.2, Seed = seed });
            curves.Add(new Series(name, h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.TrainLoss).ToArray()));
            rows.Add([name, G(h.Epochs[^1].TrainLoss), P(h.Epochs[^1].ValidationAccuracy)]);
            table.AddRow(rows[^1]);
        }
        console.Write(table);
        report.Sections.Add(new Section("optimizers", "SGD vs RMSProp vs Adam")
            .Text($"One GRU (16 units) on the mean-sign task with 20 steps, the same initial weights and batches for each optimizer, {epochs} epochs.")
            .Table(["optimizer", "final train loss", "val. accuracy"], rows)
            .Line("Training loss per epoch", "epoch", "loss", curves));
    }

    /// <summary>Fraction of rows whose decoded state maps to the true state under the best relabelling.</summary>
    private static double Recovery(int[] predicted, int[] truth, int k)
    {
        double best = 0;
        foreach (var perm in Permutations(Enumerable.Range(0, k).ToArray()))
            best = Math.Max(best, predicted.Zip(truth).Count(p => perm[p.First] == p.Second) / (double)truth.Length);
        return best;
    }

    private static IEnumerable<int[]> Permutations(int[] a)
    {
        if (a.Length <= 1) { yield return a; yield break; }
        for (int i = 0; i < a.Length; i++)
            foreach (var rest in Permutations(a.Where((_, j) => j != i).ToArray())) yield return [a[i], .. rest];
    }

    private void HiddenMarkov()
    {
        var section = new Section("hmm", "Gaussian HMMs: a toy series and a larger synthetic one");
        // Toy: 60 points of a two-regime series.
        var toy = new GaussianHmm(2, CovarianceType.Diag, 1) { Startprob = [0.5, 0.5], Transmat = [0.9, 0.1, 0.15, 0.85], Means = [0.0, 3.0], Covars = [0.5, 0.8] };
        var (tx, ts) = toy.Sample(60, seed + 40);
        var fitToy = new GaussianHmm(2, CovarianceType.Diag) { RandomState = (int)(seed % int.MaxValue), NIter = 50 };
        fitToy.Fit(tx, 1);
        int[] tp = fitToy.Predict(tx);
        double toyAcc = Recovery(tp, ts, 2);
        section.Text($"Toy series: 60 observations from a 2-state model (means 0 and 3). The fitted HMM recovers {toyAcc:P1} of the hidden states.")
               .Line("Toy series and the decoded state (shown at the fitted state's mean)", "t", "value", [
                   new Series("observation", Range(60), tx),
                   new Series("decoded state", Range(60), tp.Select(s => fitToy.Means![s]).ToArray()),
                   new Series("true state", Range(60), ts.Select(s => toy.Means![s]).ToArray())]);
        // Larger: 3 states, 2 features, several sequences.
        int per = quick ? 300 : 2000, seqs = 5;
        var truth = new GaussianHmm(3, CovarianceType.Full, 2)
        {
            Startprob = [0.5, 0.3, 0.2], Transmat = [0.92, 0.05, 0.03, 0.04, 0.92, 0.04, 0.05, 0.05, 0.90], Means = [-2, 0, 0, 2, 2, 0],
            Covars = [0.6, 0.2, 0.2, 0.5, 0.5, -0.1, -0.1, 0.7, 0.8, 0, 0, 0.4],
        };
        var xs = new List<double>();
        var zs = new List<int>();
        for (int s = 0; s < seqs; s++) { var (a, b) = truth.Sample(per, seed + 41 + (ulong)s); xs.AddRange(a); zs.AddRange(b); }
        var lengths = Enumerable.Repeat(per, seqs).ToArray();
        var fit = new GaussianHmm(3, CovarianceType.Full) { RandomState = (int)(seed % int.MaxValue), NIter = 100, Tol = 1e-4 };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        fit.Fit(xs.ToArray(), 2, lengths);
        var elapsed = clock.Elapsed;
        double acc = Recovery(fit.Predict(xs.ToArray(), lengths), zs.ToArray(), 3);
        var rows = Enumerable.Range(0, 3).Select(k => new[] { k.ToString(CultureInfo.InvariantCulture), $"({G(fit.Means![2 * k])}, {G(fit.Means[2 * k + 1])})", G(fit.Transmat![k * 3 + k]) }).ToList();
        section.Text($"Larger series: {seqs} sequences of {per} observations from a 3-state full-covariance model; EM ran {fit.Monitor.Iter} iterations " +
                     $"(converged: {(fit.Monitor.Converged ? "yes" : "no")}) in {elapsed.TotalMilliseconds:F0} ms and the decoded path recovers {acc:P1} of the true states. " +
                     "True means: (-2, 0), (0, 2), (2, 0); true self-transitions 0.92, 0.92, 0.90.")
               .Table(["state", "fitted mean", "fitted self-transition"], rows)
               .Line("Log-likelihood per EM iteration", "iteration", "log-likelihood", [new Series("EM", Range(fit.Monitor.History.Count, 1), fit.Monitor.History.ToArray())]);
        var t = new Table().AddColumns("series", "states recovered", "EM iterations");
        t.AddRow("toy (60 points)", P(toyAcc), fitToy.Monitor.Iter.ToString(CultureInfo.InvariantCulture));
        t.AddRow($"synthetic ({seqs} x {per})", P(acc), fit.Monitor.Iter.ToString(CultureInfo.InvariantCulture));
        console.Write(t);
        report.Sections.Add(section);
    }

    private void Text()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "demo", "tale_of_two_cities.txt");
        string text = File.ReadAllText(path).Trim();
        var vocab = text.Distinct().OrderBy(c => c).ToArray();
        var index = vocab.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        const int T = 40, stride = 3;
        int n = (text.Length - T - 1) / stride + 1;
        var x = new float[n * T];
        var y = new float[n * T];
        for (int s = 0; s < n; s++)
            for (int t = 0; t < T; t++)
            {
                x[s * T + t] = index[text[s * stride + t]];
                y[s * T + t] = index[text[s * stride + t + 1]];
            }
        int epochs = quick ? 10 : 60;
        using var model = new Sequential<float>(new Embedding<float>(vocab.Length, 16, seed + 50), new Recurrent<float>(RecurrentCell.Lstm, 16, 96, returnSequences: true, seed: seed + 51),
            new Dense<float>(96, vocab.Length, seed: seed + 52));
        using var adam = new Adam<float>(new ParameterSet<float>(model.Parameters), lr: 1e-2);
        var h = Train("char LSTM", model, adam, LossKind.SoftmaxCrossEntropy, x, new Shape(0, T, 1), y,
            new TrainingOptions { Epochs = epochs, BatchSize = 16, Seed = seed, ClipNorm = 5.0 });
        var rng = new SplitMix64(seed + 53);
        var lines = new List<string>();
        foreach (string prompt in new[] { "It was the ", "we had ", "in short, " })
        {
            var sb = new System.Text.StringBuilder(prompt);
            for (int k = 0; k < 80; k++)
            {
                string window = sb.ToString()[Math.Max(0, sb.Length - T)..];
                var input = window.Select(c => index.TryGetValue(c, out int id) ? (float)id : 0f).ToArray();
                var logits = model.Forward(input, new Shape(1, input.Length, 1)).ToArray();
                var last = logits.AsSpan((input.Length - 1) * vocab.Length, vocab.Length);
                double max = double.NegativeInfinity;
                foreach (var v in last) max = Math.Max(max, v);
                var p = new double[vocab.Length];
                double z = 0;
                for (int j = 0; j < p.Length; j++) z += p[j] = Math.Exp((last[j] - max) / 0.7);
                double u = rng.NextDouble() * z, acc = 0;
                int pick = p.Length - 1;
                for (int j = 0; j < p.Length; j++) { acc += p[j]; if (u < acc) { pick = j; break; } }
                sb.Append(vocab[pick]);
            }
            lines.Add(sb.ToString());
        }
        console.Write(new Panel(Markup.Escape(string.Join("\n", lines))).Header($"samples after {epochs} epochs (temperature 0.7)"));
        report.Sections.Add(new Section("text", "A character-level LSTM")
            .Text($"The opening paragraph of A Tale of Two Cities ({text.Length} characters, {vocab.Length} symbols), cut into {n} windows of {T} characters; " +
                  $"embedding 16, LSTM 96 units, softmax cross-entropy at every step, Adam, {epochs} epochs. Samples continue three prompts at temperature 0.7.")
            .Line("Training loss per epoch", "epoch", "cross-entropy", [new Series("train", h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.TrainLoss).ToArray())])
            .Pre(string.Join("\n", lines)));
    }
}
