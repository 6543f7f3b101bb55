using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hpc.Hmm;
using Hpc.IO;

namespace Hpc.Cli.Bench;

/// <summary>
/// <c>hpc bench rnn|hmm</c>: times HPC's own kernels. Method: <c>--warmup</c> untimed runs, then <c>--repeats</c>
/// timed runs (each at least one call; the time per call is the run's wall time), reporting the median, minimum and
/// maximum. One JSON line per configuration on stdout.
/// </summary>
internal static class BenchCommands
{
    internal static Command Build(TextWriter stdout)
    {
        var bench = new Command("bench", "Time HPC's kernels (one JSON line per configuration).");
        bench.Subcommands.Add(Rnn(stdout));
        bench.Subcommands.Add(Hmm(stdout));
        bench.Subcommands.Add(Gemm(stdout));
        return bench;
    }

    private static Option<int> Repeats() => new("--repeats") { Description = "Timed runs (median reported)", DefaultValueFactory = _ => 15 };
    private static Option<int> Warmup() => new("--warmup") { Description = "Untimed runs first", DefaultValueFactory = _ => 3 };
    private static Option<int> WarmupMs() => new("--warmup-ms") { Description = "Keep warming up (after --warmup runs) until this many milliseconds have passed", DefaultValueFactory = _ => 0 };
    private static Option<int> Threads() => new("--threads") { Description = "Threads for HPC's float32 kernels, the BLAS and the HMM kernels (0: one per core)", DefaultValueFactory = _ => 0 };

    internal static (double Median, double Min, double Max) Time(Action run, int warmup, int repeats, int warmupMs = 0)
    {
        if (repeats <= 0) throw new CliException($"--repeats: expected > 0, got {repeats}.");
        if (warmup < 0) throw new CliException($"--warmup: expected >= 0, got {warmup}.");
        if (warmupMs < 0) throw new CliException($"--warmup-ms: expected >= 0, got {warmupMs}.");
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup; i++) run();
        while (Stopwatch.GetElapsedTime(w0).TotalMilliseconds < warmupMs) run();
        var ms = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        double median = repeats % 2 == 1 ? ms[repeats / 2] : 0.5 * (ms[repeats / 2 - 1] + ms[repeats / 2]);
        return (median, ms[0], ms[^1]);
    }

    private static void Emit(TextWriter stdout, Dictionary<string, object> config, (double Median, double Min, double Max) t, double flops)
    {
        config["median_ms"] = Math.Round(t.Median, 4);
        config["min_ms"] = Math.Round(t.Min, 4);
        config["max_ms"] = Math.Round(t.Max, 4);
        config["gflops"] = flops > 0 ? Math.Round(flops / (t.Median * 1e6), 3) : 0;
        config["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1);
        stdout.WriteLine(JsonSerializer.Serialize(config));
    }

    private static unsafe Command Gemm(TextWriter stdout)
    {
        var size = new Option<int>("--size") { Description = "M = N = K", DefaultValueFactory = _ => 2048 };
        var threads = Threads();
        var repeats = Repeats();
        var warmup = Warmup();
        var kernel = new Option<string>("--kernel") { Description = "hpc (HPC's own float32 GEMM, what the recurrent layers use) | blas (the linked BLAS)", DefaultValueFactory = _ => "hpc" };
        kernel.AcceptOnlyFromAmong("hpc", "blas");
        var cmd = new Command("gemm", "Time a float32 GEMM (the machine's SGEMM rate, for GEMM limits).") { size, kernel, threads, repeats, warmup };
        cmd.SetAction(r =>
        {
            int n = r.GetValue(size);
            if (n <= 0) throw new CliException($"--size: expected > 0, got {n}.");
            bool blas = r.GetValue(kernel) == "blas";
            HpcLibrary.SetNumThreads(r.GetValue(threads));
            var a = Enumerable.Repeat(0.5f, n * n).ToArray();
            var b = Enumerable.Repeat(0.25f, n * n).ToArray();
            var c = new float[n * n];
            var timing = Time(() =>
            {
                fixed (float* pa = a, pb = b, pc = c)
                    Status.ThrowIfFailed(blas
                        ? Interop.NativeMethods.hpc_gemm_blas(1, 0, 0, n, n, n, 1.0, pa, a.Length, n, pb, b.Length, n, 0.0, pc, c.Length, n)
                        : Interop.NativeMethods.hpc_gemm(1, 0, 0, n, n, n, 1.0, pa, a.Length, n, pb, b.Length, n, 0.0, pc, c.Length, n));
            }, r.GetValue(warmup), r.GetValue(repeats));
            Emit(stdout, new Dictionary<string, object>
            {
                ["bench"] = "gemm", ["size"] = n, ["kernel"] = r.GetValue(kernel) ?? "hpc", ["threads"] = r.GetValue(threads), ["repeats"] = r.GetValue(repeats), ["backend"] = HpcLibrary.BackendInfo,
            }, timing, 2.0 * n * n * n);
            return 0;
        });
        return cmd;
    }

    private static Command Rnn(TextWriter stdout)
    {
        var cell = new Option<string>("--cell") { Description = "lstm | gru | rnn_tanh | rnn_relu | lstm_peephole", Required = true };
        cell.AcceptOnlyFromAmong("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_peephole");
        var batch = new Option<int>("--batch") { Required = true };
        var seq = new Option<int>("--seq") { Required = true };
        var input = new Option<int>("--input") { Required = true };
        var hidden = new Option<int>("--hidden") { Required = true };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 1 };
        var bi = new Option<bool>("--bidirectional");
        var mode = new Option<string>("--mode") { Description = "inference | training (forward + backward of a fixed upstream gradient, weight gradients included)", DefaultValueFactory = _ => "inference" };
        mode.AcceptOnlyFromAmong("inference", "training");
        var timeMajor = new Option<bool>("--time-major") { Description = "Time-major layout [T, B, I] (no internal transposes)" };
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "float32" };
        dtype.AcceptOnlyFromAmong("float32", "float64");
        var frozen = new Option<bool>("--frozen-weights") { Description = "Run on parameters frozen beforehand (FreezeParameters: packed once, outside the timing; in training forward and backward both use the copy, as between two optimizer steps)" };
        var threads = Threads();
        var repeats = Repeats();
        var warmup = Warmup();
        var warmupMs = WarmupMs();
        var cmd = new Command("rnn", "Time a recurrent network forward (inference) or forward + backward (training).")
        {
            cell, batch, seq, input, hidden, layers, bi, mode, timeMajor, dtype, frozen, threads, repeats, warmup, warmupMs,
        };
        cmd.SetAction(r =>
        {
            var c = r.GetValue(cell)!;
            int b = r.GetValue(batch), t = r.GetValue(seq), i = r.GetValue(input), h = r.GetValue(hidden), l = r.GetValue(layers);
            foreach (var (name, v) in new[] { ("--batch", b), ("--seq", t), ("--input", i), ("--hidden", h), ("--layers", l) })
                if (v <= 0) throw new CliException($"{name}: expected > 0, got {v}.");
            HpcLibrary.SetNumThreads(r.GetValue(threads));
            var kind = c switch { "lstm" => RecurrentCell.Lstm, "gru" => RecurrentCell.Gru, "rnn_tanh" => RecurrentCell.RnnTanh, "rnn_relu" => RecurrentCell.RnnRelu, _ => RecurrentCell.LstmPeephole };
            bool training = r.GetValue(mode) == "training", freeze = r.GetValue(frozen);
            var timing = r.GetValue(dtype) == "float64"
                ? RunRnn<double>(kind, b, t, i, h, l, r.GetValue(bi), training, freeze, r.GetValue(timeMajor), r.GetValue(warmup), r.GetValue(repeats), r.GetValue(warmupMs))
                : RunRnn<float>(kind, b, t, i, h, l, r.GetValue(bi), training, freeze, r.GetValue(timeMajor), r.GetValue(warmup), r.GetValue(repeats), r.GetValue(warmupMs));
            int g = kind switch { RecurrentCell.Lstm or RecurrentCell.LstmPeephole => 4, RecurrentCell.Gru => 3, _ => 1 };
            int d = r.GetValue(bi) ? 2 : 1;
            double flops = 0;
            for (int k = 0; k < l; k++) flops += d * 2.0 * b * t * g * h * ((k == 0 ? i : d * h) + h);
            if (training) flops *= 3;  // backward: dW_ih, dW_hh, dX and the dh recurrence: twice the forward GEMMs
            Emit(stdout, new Dictionary<string, object>
            {
                ["bench"] = "rnn", ["cell"] = c, ["batch"] = b, ["seq"] = t, ["input"] = i, ["hidden"] = h, ["layers"] = l, ["bidirectional"] = r.GetValue(bi),
                ["mode"] = r.GetValue(mode)!, ["backend"] = HpcLibrary.BackendInfo, ["layout"] = r.GetValue(timeMajor) ? "time-major" : "batch-first", ["dtype"] = r.GetValue(dtype)!, ["frozen_weights"] = freeze, ["threads"] = r.GetValue(threads), ["repeats"] = r.GetValue(repeats), ["warmup_ms"] = r.GetValue(warmupMs), ["gemm_flops"] = flops,
            }, timing, flops);
            return 0;
        });
        return cmd;
    }

    private static (double, double, double) RunRnn<T>(RecurrentCell cell, int b, int t, int i, int h, int l, bool bi, bool training, bool freeze, bool timeMajor, int warmup, int repeats, int warmupMs)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var m = RecurrentModules.Create<T>(cell, i, h, l, bi, batchFirst: !timeMajor, seed: 1);
        m.CheckFinite = false;  // timing the kernels, not the input scan
        var rng = new Random(1);
        var x = Enumerable.Range(0, b * t * i).Select(_ => T.CreateChecked(rng.NextDouble() * 2 - 1)).ToArray();
        var y = new T[b * t * m.OutputSize];
        var dy = Enumerable.Range(0, y.Length).Select(_ => T.CreateChecked(rng.NextDouble() * 2 - 1)).ToArray();
        var dx = new T[x.Length];
        if (freeze) m.FreezeParameters(training);
        return Time(() =>
        {
            m.Forward(x, b, t, y, training: training);
            if (training) m.Backward(x, dy, dx);
        }, warmup, repeats, warmupMs);
    }

    private static long[] CovarsShape(CovarianceType type, int k, int d) => type switch
    {
        CovarianceType.Spherical => new long[] { k },
        CovarianceType.Diag => new long[] { k, d },
        CovarianceType.Full => new long[] { k, d, d },
        _ => new long[] { d, d },
    };

    private static Command Hmm(TextWriter stdout)
    {
        var emission = new Option<string>("--emission") { DefaultValueFactory = _ => "gaussian" };
        emission.AcceptOnlyFromAmong("gaussian", "categorical");
        var cov = new Option<string>("--covariance-type") { DefaultValueFactory = _ => "diag" };
        cov.AcceptOnlyFromAmong("spherical", "diag", "full", "tied");
        var states = new Option<int>("--states") { Required = true };
        var dims = new Option<int>("--dims") { Description = "Features (gaussian) or symbols (categorical)", DefaultValueFactory = _ => 1 };
        var length = new Option<int>("--length") { Description = "Total rows T", Required = true };
        var sequences = new Option<int>("--sequences") { DefaultValueFactory = _ => 1 };
        var op = new Option<string>("--op") { DefaultValueFactory = _ => "fit-iteration" };
        op.AcceptOnlyFromAmong("fit-iteration", "score", "decode", "posteriors");
        var impl = new Option<string>("--implementation") { DefaultValueFactory = _ => "scaling" };
        impl.AcceptOnlyFromAmong("log", "scaling");
        var threads = Threads();
        var repeats = Repeats();
        var warmup = Warmup();
        var save = new Option<string?>("--save")
        {
            Description = "Folder to write the timed inputs (x, lengths, the starting parameters) and one more run's outputs to, as .npy " +
                          "files, for a side-by-side run of another library on the same data (bench/compare/hmm_side_by_side.py)",
        };
        var warmupMs = WarmupMs();
        var cmd = new Command("hmm", "Time an HMM operation on synthetic data.") { emission, cov, states, dims, length, sequences, op, impl, threads, repeats, warmup, warmupMs, save };
        cmd.SetAction(r =>
        {
            int k = r.GetValue(states), d = r.GetValue(dims), n = r.GetValue(length), s = r.GetValue(sequences);
            foreach (var (name, v) in new[] { ("--states", k), ("--dims", d), ("--length", n), ("--sequences", s) })
                if (v <= 0) throw new CliException($"{name}: expected > 0, got {v}.");
            if (n % s != 0) throw new CliException($"--length: expected a multiple of --sequences ({s}), got {n}.");
            HpcLibrary.SetNumThreads(r.GetValue(threads));
            var lengths = Enumerable.Repeat(n / s, s).ToArray();
            var rng = new Random(3);
            double[] Stochastic(int rows, int cols)
            {
                var a = new double[rows * cols];
                for (int i = 0; i < rows; i++)
                {
                    double sum = 0;
                    for (int j = 0; j < cols; j++) sum += a[i * cols + j] = 0.1 + rng.NextDouble() + (i == j ? cols : 0);
                    for (int j = 0; j < cols; j++) a[i * cols + j] /= sum;
                }
                return a;
            }
            var mode = r.GetValue(impl) == "log" ? HmmImplementation.Log : HmmImplementation.Scaling;
            Func<string, (double[] Startprob, double[] Transmat)> saveData;
            Action<string> saveFitted;
            Func<double> score;
            Func<(double LogProb, int[] States)> decode;
            Func<double[]> posteriors;
            Func<(double LogLik, double[] Startprob, double[] Transmat)> fit;
            string o = r.GetValue(op)!;
            // Decode and posteriors write into these (the span overloads: no [N, K] or [N] result allocated per call,
            // as a caller repeating them on data of one size would do); only the timed operation's is allocated, so
            // that peak_rss_mb counts no array the operation does not use.
            var pathOut = o == "decode" ? new int[n] : [];
            var post = o == "posteriors" ? new double[(long)n * k] : [];
            if (r.GetValue(emission) == "gaussian")
            {
                var type = Enum.Parse<CovarianceType>(r.GetValue(cov)!, true);
                var truth = new GaussianHmm(k, CovarianceType.Diag, d) { Startprob = Stochastic(1, k), Transmat = Stochastic(k, k) };
                truth.Means = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 10 - 5).ToArray();
                truth.Covars = Enumerable.Range(0, k * d).Select(_ => 0.5 + rng.NextDouble()).ToArray();
                var x = truth.Sample(n, 5).X;
                var model = new GaussianHmm(k, type, d) { Startprob = truth.Startprob, Transmat = truth.Transmat, Means = truth.Means, InitParams = "", NIter = 1, Implementation = mode };
                model.Covars = type switch
                {
                    CovarianceType.Spherical => Enumerable.Repeat(1.0, k).ToArray(),
                    CovarianceType.Diag => Enumerable.Repeat(1.0, k * d).ToArray(),
                    CovarianceType.Full => Enumerable.Range(0, k).SelectMany(_ => Enumerable.Range(0, d * d).Select(q => q % (d + 1) == 0 ? 1.0 : 0.0)).ToArray(),
                    _ => Enumerable.Range(0, d * d).Select(q => q % (d + 1) == 0 ? 1.0 : 0.0).ToArray(),
                };
                var start = (model.Startprob!.ToArray(), model.Transmat!.ToArray(), model.Means!.ToArray(), model.Covars!.ToArray());
                score = () => model.Score(x, lengths);
                decode = () => (model.Decode(x, lengths, pathOut), pathOut);
                posteriors = () => { model.ScoreSamples(x, lengths, post); return post; };
                fit = () => { model.Startprob = start.Item1; model.Transmat = start.Item2; model.Means = start.Item3; model.Covars = start.Item4; model.Fit(x, d, lengths); return (model.Monitor.History[^1], model.Startprob!, model.Transmat!); };
                saveData = dir =>
                {
                    Npy.Write<double>(Path.Combine(dir, "x.npy"), x, n, d);
                    Npy.Write<double>(Path.Combine(dir, "means.npy"), start.Item3, k, d);
                    Npy.Write<double>(Path.Combine(dir, "covars.npy"), start.Item4, CovarsShape(type, k, d));
                    return (start.Item1, start.Item2);
                };
                saveFitted = dir =>
                {
                    Npy.Write<double>(Path.Combine(dir, "fitted_means.npy"), model.Means!, k, d);
                    Npy.Write<double>(Path.Combine(dir, "fitted_covars.npy"), model.Covars!, CovarsShape(type, k, d));
                };
            }
            else
            {
                var truth = new CategoricalHmm(k, d) { Startprob = Stochastic(1, k), Transmat = Stochastic(k, k), Emissionprob = Stochastic(k, d) };
                var x = truth.Sample(n, 5).X;
                var model = new CategoricalHmm(k, d) { Startprob = truth.Startprob, Transmat = truth.Transmat, Emissionprob = truth.Emissionprob, InitParams = "", NIter = 1, Implementation = mode };
                var start = (model.Startprob!.ToArray(), model.Transmat!.ToArray(), model.Emissionprob!.ToArray());
                saveData = dir =>
                {
                    Npy.Write<long>(Path.Combine(dir, "x.npy"), x.Select(v => (long)v).ToArray(), n, 1);
                    Npy.Write<double>(Path.Combine(dir, "emissionprob.npy"), start.Item3, k, d);
                    return (start.Item1, start.Item2);
                };
                saveFitted = dir => Npy.Write<double>(Path.Combine(dir, "fitted_emissionprob.npy"), model.Emissionprob!, k, d);
                score = () => model.Score(x, lengths);
                decode = () => (model.Decode(x, lengths, pathOut), pathOut);
                posteriors = () => { model.ScoreSamples(x, lengths, post); return post; };
                fit = () => { model.Startprob = start.Item1; model.Transmat = start.Item2; model.Emissionprob = start.Item3; model.Fit(x, lengths); return (model.Monitor.History[^1], model.Startprob!, model.Transmat!); };
            }
            Action run = o switch
            {
                "score" => () => score(),
                "decode" => () => decode(),
                "posteriors" => () => posteriors(),
                _ => () => fit(),
            };
            var timing = Time(run, r.GetValue(warmup), r.GetValue(repeats), r.GetValue(warmupMs));
            if (r.GetValue(save) is { } dir)
            {
                // After the timing, so that writing files costs the timed runs nothing; the outputs come from one more run.
                try
                {
                    Directory.CreateDirectory(dir);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"--save {dir}: expected a folder that can be created or written, got: {e.Message}");
                }
                var (startprob, transmat) = saveData(dir);
                Npy.Write<long>(Path.Combine(dir, "lengths.npy"), lengths.Select(v => (long)v).ToArray(), s);
                Npy.Write<double>(Path.Combine(dir, "startprob.npy"), startprob, k);
                Npy.Write<double>(Path.Combine(dir, "transmat.npy"), transmat, k, k);
                switch (o)
                {
                    case "score":
                        Npy.Write<double>(Path.Combine(dir, "score.npy"), new[] { score() }, 1);
                        break;
                    case "decode":
                        var (logProb, states) = decode();
                        Npy.Write<double>(Path.Combine(dir, "decode_logprob.npy"), new[] { logProb }, 1);
                        Npy.Write<long>(Path.Combine(dir, "decode_path.npy"), states.Select(v => (long)v).ToArray(), n);
                        break;
                    case "posteriors":
                        Npy.Write<double>(Path.Combine(dir, "posteriors.npy"), posteriors(), n, k);
                        break;
                    default:
                        var (logLik, fittedStart, fittedTrans) = fit();
                        Npy.Write<double>(Path.Combine(dir, "fit_loglik.npy"), new[] { logLik }, 1);
                        Npy.Write<double>(Path.Combine(dir, "fitted_startprob.npy"), fittedStart, k);
                        Npy.Write<double>(Path.Combine(dir, "fitted_transmat.npy"), fittedTrans, k, k);
                        saveFitted(dir);
                        break;
                }
            }
            Emit(stdout, new Dictionary<string, object>
            {
                ["bench"] = "hmm", ["emission"] = r.GetValue(emission)!, ["covariance_type"] = r.GetValue(cov)!, ["states"] = k, ["dims"] = d, ["length"] = n,
                ["sequences"] = s, ["op"] = o, ["implementation"] = r.GetValue(impl)!, ["threads"] = r.GetValue(threads), ["repeats"] = r.GetValue(repeats),
                ["warmup_ms"] = r.GetValue(warmupMs),
            }, timing, 0);
            return 0;
        });
        return cmd;
    }
}
