using System.CommandLine;
using System.Globalization;
using Hpc.Hmm;
using Hpc.IO;

namespace Hpc.Cli;

/// <summary><c>hpc hmm fit|score|decode|posteriors</c>: hmmlearn-compatible HMMs on .npy data and JSON model files.</summary>
internal static class HmmCommands
{
    internal static Command Build(TextWriter stdout)
    {
        var hmm = new Command("hmm", "Hidden Markov models (hmmlearn semantics; JSON model files).");
        hmm.Subcommands.Add(Fit(stdout));
        hmm.Subcommands.Add(Score(stdout));
        hmm.Subcommands.Add(Decode(stdout));
        hmm.Subcommands.Add(Posteriors(stdout));
        return hmm;
    }

    private static Option<string> Input() => new("--input") { Description = ".npy observations: float [N, D] (gaussian) or int [N] / [N, 1] (categorical)", Required = true };
    private static Option<string?> Lengths() => new("--lengths") { Description = ".npy integer lengths of the sequences (summing to N); default one sequence" };
    private static Option<string> Model() => new("--model") { Description = "JSON model file", Required = true };
    private static Option<string> Implementation()
    {
        var o = new Option<string>("--implementation") { Description = "log | scaling", DefaultValueFactory = _ => "log" };
        o.AcceptOnlyFromAmong("log", "scaling");
        return o;
    }

    private static Command Fit(TextWriter stdout)
    {
        var emission = new Option<string?>("--emission") { Description = "gaussian | categorical (required without --init-model)" };
        emission.AcceptOnlyFromAmong("gaussian", "categorical");
        var cov = new Option<string>("--covariance-type") { Description = "spherical | diag | full | tied", DefaultValueFactory = _ => "diag" };
        cov.AcceptOnlyFromAmong("spherical", "diag", "full", "tied");
        var states = new Option<int?>("--states") { Description = "Number of hidden states K (required without --init-model)" };
        var input = Input();
        var lengths = Lengths();
        var iterations = new Option<int>("--iterations") { Description = "Maximum EM iterations", DefaultValueFactory = _ => 10 };
        var tol = new Option<double>("--tol") { Description = "Stop when the log-likelihood gain is below this", DefaultValueFactory = _ => 1e-2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the initialisation (k-means for Gaussian means)", DefaultValueFactory = _ => 0 };
        var init = new Option<string?>("--init-model") { Description = "Start from this model's parameters and hyper-parameters; initialise nothing" };
        var output = new Option<string>("--model-out") { Description = "Where to write the fitted model (JSON)", Required = true };
        var impl = Implementation();
        var cmd = new Command("fit", "Fit an HMM with EM (Baum-Welch).") { emission, cov, states, input, lengths, iterations, tol, seed, init, output, impl };
        cmd.SetAction(r =>
        {
            string? initPath = r.GetValue(init);
            object model;
            if (initPath != null)
            {
                model = HmmModelFile.Load(initPath);
                string kind = model is GaussianHmm ? "gaussian" : "categorical";
                if (r.GetValue(emission) is string e && e != kind)
                    throw new CliException($"{initPath}: emission: --emission says {e}, the model is {kind}.");
                int k = model is GaussianHmm gm ? gm.NComponents : ((CategoricalHmm)model).NComponents;
                if (r.GetValue(states) is int s && s != k)
                    throw new CliException($"{initPath}: n_components: --states says {s}, the model has {k}.");
                if (model is GaussianHmm g0 && r.GetResult(cov) is { Implicit: false } && g0.CovarianceType.ToString().ToLowerInvariant() != r.GetValue(cov))
                    throw new CliException($"{initPath}: covariance_type: --covariance-type says {r.GetValue(cov)}, the model has {g0.CovarianceType.ToString().ToLowerInvariant()}.");
            }
            else
            {
                string e = r.GetValue(emission) ?? throw new CliException("--emission is required without --init-model.");
                int k = r.GetValue(states) ?? throw new CliException("--states is required without --init-model.");
                if (k <= 0) throw new CliException($"--states: expected > 0, got {k}.");
                model = e == "gaussian" ? new GaussianHmm(k, Enum.Parse<CovarianceType>(r.GetValue(cov)!, true)) : new CategoricalHmm(k);
            }
            int iters = r.GetValue(iterations);
            if (iters <= 0) throw new CliException($"--iterations: expected > 0, got {iters}.");
            int[]? lens = ReadLengths(r.GetValue(lengths));
            string inPath = r.GetValue(input)!;
            var hmmImpl = r.GetValue(impl) == "scaling" ? HmmImplementation.Scaling : HmmImplementation.Log;
            string summary;
            IReadOnlyList<string> warnings;
            ConvergenceMonitor monitor;
            switch (model)
            {
                case GaussianHmm g:
                {
                    var (x, d) = ReadGaussian(inPath, g.NFeatures);
                    Configure(g, iters, r.GetValue(tol), r.GetValue(seed), hmmImpl, initPath != null);
                    g.Fit(x, d, lens ?? default);
                    (summary, warnings, monitor) = ($"gaussian ({g.CovarianceType.ToString().ToLowerInvariant()}), {g.NComponents} states, {x.Length / d} rows of {d} features", g.FitWarnings, g.Monitor);
                    break;
                }
                default:
                {
                    var c = (CategoricalHmm)model;
                    int[] x = ReadSymbols(inPath);
                    Configure(c, iters, r.GetValue(tol), r.GetValue(seed), hmmImpl, initPath != null);
                    c.Fit(x, lens ?? default);
                    (summary, warnings, monitor) = ($"categorical, {c.NComponents} states, {x.Length} rows, {c.NFeatures} symbols", c.FitWarnings, c.Monitor);
                    break;
                }
            }
            HmmModelFile.Save(r.GetValue(output)!, model);
            stdout.WriteLine($"hmm fit: {summary}, {lens?.Length ?? 1} sequence(s)");
            stdout.WriteLine($"iterations: {monitor.Iter}, log-likelihood: {string.Join(" ", monitor.History.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");
            stdout.WriteLine($"converged: {(monitor.Converged ? "yes" : "no")}");
            foreach (var w in warnings) stdout.WriteLine($"warning: {w}");
            stdout.WriteLine($"model written to {r.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    private static void Configure<T>(HiddenMarkovModel<T> m, int iters, double tol, int seed, HmmImplementation impl, bool fromModel) where T : unmanaged
    {
        m.NIter = iters;
        m.Tol = tol;
        m.RandomState = seed;
        m.Implementation = impl;
        if (fromModel) m.InitParams = "";
    }

    private static Command Score(TextWriter stdout)
    {
        var model = Model();
        var input = Input();
        var lengths = Lengths();
        var output = new Option<string?>("--output") { Description = ".npy file for the per-sequence log-likelihoods [S]" };
        var impl = Implementation();
        var cmd = new Command("score", "Print the total log-likelihood; optionally write per-sequence scores.") { model, input, lengths, output, impl };
        cmd.SetAction(r =>
        {
            double[] scores = Run(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(lengths), r.GetValue(impl)!,
                (m, x, l) => m.ScorePerSequence(x, l), (m, x, l) => m.ScorePerSequence(x, l));
            if (r.GetValue(output) is string o) Npy.Write<double>(o, scores, scores.Length);
            stdout.WriteLine(scores.Sum().ToString("R", CultureInfo.InvariantCulture));
            return 0;
        });
        return cmd;
    }

    private static Command Decode(TextWriter stdout)
    {
        var model = Model();
        var input = Input();
        var lengths = Lengths();
        var output = new Option<string>("--output") { Description = ".npy file for the state path [N] (int64)", Required = true };
        var algorithm = new Option<string>("--algorithm") { Description = "viterbi | map", DefaultValueFactory = _ => "viterbi" };
        algorithm.AcceptOnlyFromAmong("viterbi", "map");
        var cmd = new Command("decode", "Write the most likely state path; print its log-probability.") { model, input, lengths, output, algorithm };
        cmd.SetAction(r =>
        {
            var algo = r.GetValue(algorithm) == "map" ? DecoderAlgorithm.Map : DecoderAlgorithm.Viterbi;
            (double lp, int[] states) = RunDecode(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(lengths), algo);
            Npy.Write<long>(r.GetValue(output)!, Array.ConvertAll(states, s => (long)s), states.Length);
            stdout.WriteLine(lp.ToString("R", CultureInfo.InvariantCulture));
            return 0;
        });
        return cmd;
    }

    private static Command Posteriors(TextWriter stdout)
    {
        var model = Model();
        var input = Input();
        var lengths = Lengths();
        var output = new Option<string>("--output") { Description = ".npy file for the posteriors [N, K] (float64)", Required = true };
        var impl = Implementation();
        var cmd = new Command("posteriors", "Write the state posteriors gamma [N, K].") { model, input, lengths, output, impl };
        cmd.SetAction(r =>
        {
            int k = 0;
            double[] post = Run(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(lengths), r.GetValue(impl)!,
                (m, x, l) => { k = m.NComponents; return m.PredictProba(x, l); },
                (m, x, l) => { k = m.NComponents; return m.PredictProba(x, l); });
            Npy.Write<double>(r.GetValue(output)!, post, post.Length / k, k);
            stdout.WriteLine($"posteriors [{post.Length / k}, {k}] written to {r.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    private delegate TOut GaussianOp<TOut>(GaussianHmm m, double[] x, ReadOnlySpan<int> lengths);
    private delegate TOut CategoricalOp<TOut>(CategoricalHmm m, int[] x, ReadOnlySpan<int> lengths);

    private static TOut Run<TOut>(string modelPath, string inputPath, string? lengthsPath, string impl, GaussianOp<TOut> g, CategoricalOp<TOut> c)
    {
        object model = HmmModelFile.Load(modelPath);
        int[]? lens = ReadLengths(lengthsPath);
        var mode = impl == "scaling" ? HmmImplementation.Scaling : HmmImplementation.Log;
        if (model is GaussianHmm gm)
        {
            gm.Implementation = mode;
            var (x, _) = ReadGaussian(inputPath, gm.NFeatures);
            return g(gm, x, lens ?? default);
        }
        var cm = (CategoricalHmm)model;
        cm.Implementation = mode;
        return c(cm, ReadSymbols(inputPath, cm.NFeatures), lens ?? default);
    }

    private static (double, int[]) RunDecode(string modelPath, string inputPath, string? lengthsPath, DecoderAlgorithm algo) =>
        Run(modelPath, inputPath, lengthsPath, "log", (m, x, l) => m.Decode(x, l, algo), (m, x, l) => m.Decode(x, l, algo));

    /// <summary>Gaussian observations: float [N, D] (or [N] for D = 1); D must match the model when it has one.</summary>
    private static (double[] X, int D) ReadGaussian(string path, int expectedD)
    {
        var a = Npy.Read(path);
        if (a.DType is not (NpyDType.Float32 or NpyDType.Float64))
            throw new CliException($"{path}: X: expected float32 or float64 observations, got {a.DType}.");
        int d = a.Shape.Count == 1 ? 1 : a.Shape.Count == 2 ? (int)a.Shape[1] : -1;
        if (d <= 0 || a.Count == 0 || (expectedD > 0 && d != expectedD))
            throw new CliException($"{path}: X: expected shape [N, {(expectedD > 0 ? expectedD.ToString() : "D")}], got {HpcCli.Shape(a.Shape)}.");
        return (a.ToDoubleArray(), d);
    }

    /// <summary>Categorical observations: integers [N] or [N, 1].</summary>
    private static int[] ReadSymbols(string path, int nSymbols = 0)
    {
        var a = Npy.Read(path);
        if (a.DType is not (NpyDType.Int32 or NpyDType.Int64))
            throw new CliException($"{path}: X: expected integer symbols (int32 or int64), got {a.DType}.");
        if (!(a.Shape.Count == 1 || (a.Shape.Count == 2 && a.Shape[1] == 1)) || a.Count == 0)
            throw new CliException($"{path}: X: expected shape [N] or [N, 1], got {HpcCli.Shape(a.Shape)}.");
        var v = a.ToInt64Array();
        var x = new int[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] < 0 || v[i] > int.MaxValue || (nSymbols > 0 && v[i] >= nSymbols))
                throw new CliException($"{path}: X[{i}]: expected a symbol in [0, {(nSymbols > 0 ? nSymbols : int.MaxValue)}), got {v[i]}.");
            x[i] = (int)v[i];
        }
        return x;
    }

    private static int[]? ReadLengths(string? path)
    {
        if (path == null) return null;
        var a = Npy.Read(path);
        if (a.DType is not (NpyDType.Int32 or NpyDType.Int64) || a.Shape.Count != 1)
            throw new CliException($"{path}: lengths: expected a 1-D integer array, got {a.DType} {HpcCli.Shape(a.Shape)}.");
        var v = a.ToInt64Array();
        var l = new int[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] <= 0 || v[i] > int.MaxValue) throw new CliException($"{path}: lengths[{i}]: expected a positive length, got {v[i]}.");
            l[i] = (int)v[i];
        }
        return l;
    }
}
