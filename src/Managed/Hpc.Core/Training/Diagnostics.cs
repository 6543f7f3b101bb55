using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hpc.Training;

/// <summary>Verdict of the gradient-flow check.</summary>
public enum GradientFlow
{
    /// <summary>The gradient reaching early time steps is a vanishing fraction of the one at the last step.</summary>
    Vanishing,
    /// <summary>Neither vanishing nor exploding.</summary>
    Healthy,
    /// <summary>Gradients grow back through time, blow up in norm, or are not finite.</summary>
    Exploding,
}

/// <summary>The verdict with the numbers behind it.</summary>
/// <param name="Verdict">Vanishing, healthy or exploding.</param>
/// <param name="FirstToLastRatio">Mean ||dL/dh_0|| / ||dL/dh_{T-1}|| of the top recurrent layer (NaN if not recorded).</param>
/// <param name="PerStepFactor">That ratio's (T-1)-th root: the average factor per step back in time.</param>
/// <param name="MaxGradNorm">Largest global gradient norm before clipping.</param>
/// <param name="NonFiniteSteps">Steps whose gradient norm was NaN or infinite.</param>
/// <param name="Reason">Which rule decided.</param>
public sealed record GradientFlowReport(GradientFlow Verdict, double FirstToLastRatio, double PerStepFactor, double MaxGradNorm, int NonFiniteSteps, string Reason);

/// <summary>
/// Records, every training step, the gradient norm of every parameter tensor and of every layer, the global norm
/// before and after clipping, and ||dL/dh_t|| for every time step of the model's last recurrent layer; classifies
/// the flow as vanishing, healthy or exploding; exports CSV and JSON.
/// </summary>
public sealed class GradientDiagnostics
{
    private readonly List<(int Step, int Epoch, double Loss, double Norm, double Applied, Dictionary<string, double> Params, Dictionary<string, double> Layers)> _steps = [];
    private double[] _hiddenSum = [];
    private int _hiddenCount;
    private readonly SortedDictionary<int, (double[] Sum, int Count)> _hiddenByEpoch = [];
    private string[] _layerNames = [];
    private string[][] _paramNames = [];
    private object? _namedModel;

    /// <summary>A ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| below this is vanishing (default 1e-3).</summary>
    public double VanishingRatio { get; init; } = 1e-3;
    /// <summary>A ratio above this, or a global norm above <see cref="ExplodingNorm"/>, is exploding (default 1e3).</summary>
    public double ExplodingRatio { get; init; } = 1e3;
    /// <summary>Global gradient norm (before clipping) regarded as exploding (default 1e3).</summary>
    public double ExplodingNorm { get; init; } = 1e3;

    /// <summary>Steps recorded.</summary>
    public int Steps => _steps.Count;

    /// <summary>Mean ||dL/dh_t|| over the recorded steps, for t = 0 .. T-1 (empty when the model has no recurrent layer).</summary>
    public double[] HiddenGradientNorms => _hiddenCount == 0 ? [] : _hiddenSum.Select(v => v / _hiddenCount).ToArray();

    /// <summary>Mean ||dL/dh_t|| over the steps of one epoch (1-based), for t = 0 .. T-1; empty if not recorded.</summary>
    public double[] HiddenGradientNormsOfEpoch(int epoch) =>
        _hiddenByEpoch.TryGetValue(epoch, out var e) ? e.Sum.Select(v => v / e.Count).ToArray() : [];

    /// <summary>||dL/dh_0|| / ||dL/dh_T-1|| of one epoch (NaN if not recorded).</summary>
    public double FirstToLastRatioOfEpoch(int epoch)
    {
        var h = HiddenGradientNormsOfEpoch(epoch);
        return h.Length >= 2 && h[^1] > 0 ? h[0] / h[^1] : double.NaN;
    }

    /// <summary>Mean gradient norm of each layer over the recorded steps, in layer order.</summary>
    public IReadOnlyList<(string Layer, double Norm)> LayerNorms =>
        _steps.Count == 0 ? [] : _steps[0].Layers.Keys.Select(k => (k, _steps.Average(s => s.Layers[k]))).ToList();

    /// <summary>Mean gradient norm of each parameter tensor over the recorded steps.</summary>
    public IReadOnlyList<(string Parameter, double Norm)> ParameterNorms =>
        _steps.Count == 0 ? [] : _steps[0].Params.Keys.Select(k => (k, _steps.Average(s => s.Params[k]))).ToList();

    /// <summary>Global gradient norm (before clipping) of every step.</summary>
    public IReadOnlyList<double> GlobalNorms => _steps.Select(s => s.Norm).ToList();

    /// <summary>Global gradient norm actually applied (after clipping) of every step.</summary>
    public IReadOnlyList<double> AppliedNorms => _steps.Select(s => s.Applied).ToList();

    /// <summary>Turns on recording of dL/dh_t in the model's last recurrent layer.</summary>
    public void Attach<T>(Sequential<T> model) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = model.Layers.OfType<Recurrent<T>>().LastOrDefault();
        if (r != null) r.RecordHiddenGradients = true;
    }

    /// <summary>Records one step (called by the trainer after backward, before clipping is applied to the norms).</summary>
    public void Record<T>(Sequential<T> model, int epoch, double loss, double globalNorm, double appliedNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Names once per model: a layer's Spec is built anew on every access.
        if (!ReferenceEquals(_namedModel, model) || _layerNames.Length != model.Layers.Count)
        {
            _namedModel = model;
            _layerNames = model.Layers.Select((l, i) => $"{i}.{l.Spec["type"]}").ToArray();
            _paramNames = model.Layers.Select((l, i) => l.Parameters.Select(p => $"{_layerNames[i]}.{p.Name}").ToArray()).ToArray();
        }
        var ps = new Dictionary<string, double>();
        var ls = new Dictionary<string, double>();
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            double layerSq = 0;
            for (int k = 0; k < layer.Parameters.Count; k++)
            {
                double sq = 0;
                foreach (var g in layer.Parameters[k].Grad) { double v = double.CreateChecked(g); sq += v * v; }
                ps[_paramNames[i][k]] = Math.Sqrt(sq);
                layerSq += sq;
            }
            if (layer.Parameters.Count > 0) ls[_layerNames[i]] = Math.Sqrt(layerSq);
        }
        _steps.Add((_steps.Count + 1, epoch, loss, globalNorm, appliedNorm, ps, ls));
        var r = model.Layers.OfType<Recurrent<T>>().LastOrDefault();
        if (r is not { RecordHiddenGradients: true } || r.HiddenGradients.Length == 0) return;
        // HiddenGradients is [B, T, D*H]; the sequence length comes from the last input.
        int o = (r.Bidirectional ? 2 : 1) * r.HiddenSize;
        int bt = r.HiddenGradients.Length / o;
        int steps = r.LastSequenceLength;
        if (steps <= 0 || bt % steps != 0) return;
        if (_hiddenSum.Length != steps) { _hiddenSum = new double[steps]; _hiddenCount = 0; }  // a new sequence length starts a new average
        if (!_hiddenByEpoch.TryGetValue(epoch, out var e) || e.Sum.Length != steps) e = (new double[steps], 0);
        int batch = bt / steps;
        for (int t = 0; t < steps; t++)
        {
            double sq = 0;
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < o; j++) { double v = double.CreateChecked(r.HiddenGradients[(b * steps + t) * o + j]); sq += v * v; }
            double norm = Math.Sqrt(sq / batch);  // root mean square over the batch of ||dL/dh_t||
            _hiddenSum[t] += norm;
            e.Sum[t] += norm;
        }
        _hiddenCount++;
        _hiddenByEpoch[epoch] = (e.Sum, e.Count + 1);
    }

    /// <summary>Classifies the recorded gradient flow.</summary>
    /// <exception cref="InvalidOperationException">Nothing was recorded.</exception>
    public GradientFlowReport Classify()
    {
        if (_steps.Count == 0) throw new InvalidOperationException("No training step was recorded.");
        int nonFinite = _steps.Count(s => !double.IsFinite(s.Norm));
        double maxNorm = _steps.Where(s => double.IsFinite(s.Norm)).Select(s => s.Norm).DefaultIfEmpty(double.NaN).Max();
        var h = HiddenGradientNorms;
        double ratio = h.Length >= 2 && h[^1] > 0 ? h[0] / h[^1] : double.NaN;
        double factor = h.Length >= 2 ? Math.Pow(ratio, 1.0 / (h.Length - 1)) : double.NaN;
        if (nonFinite > 0) return new(GradientFlow.Exploding, ratio, factor, maxNorm, nonFinite, $"{nonFinite} step(s) had a non-finite gradient norm");
        if (maxNorm > ExplodingNorm) return new(GradientFlow.Exploding, ratio, factor, maxNorm, 0, $"a global gradient norm of {maxNorm:G3} exceeds {ExplodingNorm:G3}");
        if (ratio > ExplodingRatio) return new(GradientFlow.Exploding, ratio, factor, maxNorm, 0, $"||dL/dh_0|| is {ratio:G3} times ||dL/dh_T-1|| (> {ExplodingRatio:G3}): gradients grow back through time");
        if (ratio < VanishingRatio) return new(GradientFlow.Vanishing, ratio, factor, maxNorm, 0, $"||dL/dh_0|| is {ratio:G3} of ||dL/dh_T-1|| (< {VanishingRatio:G3}): gradients shrink by {factor:G3} per step back in time");
        return new(GradientFlow.Healthy, ratio, factor, maxNorm, 0, double.IsNaN(ratio) ? "finite, bounded gradient norms" : $"||dL/dh_0|| / ||dL/dh_T-1|| = {ratio:G3} is within [{VanishingRatio:G3}, {ExplodingRatio:G3}]");
    }

    /// <summary>One row per step: step, epoch, loss, global norm, applied norm, then every parameter's norm.</summary>
    public void ExportCsv(string path)
    {
        var sb = new StringBuilder();
        var names = _steps.Count > 0 ? _steps[0].Params.Keys.ToList() : [];
        sb.AppendLine(string.Join(",", new[] { "step", "epoch", "loss", "grad_norm", "grad_norm_applied" }.Concat(names)));
        foreach (var s in _steps)
            sb.AppendLine(string.Join(",", new[] { s.Step.ToString(CultureInfo.InvariantCulture), s.Epoch.ToString(CultureInfo.InvariantCulture), F(s.Loss), F(s.Norm), F(s.Applied) }
                .Concat(names.Select(n => F(s.Params[n])))));
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>The verdict, mean layer and parameter norms, ||dL/dh_t|| per step and every step's norms, as JSON.</summary>
    public void ExportJson(string path)
    {
        var r = Classify();
        var o = new JsonObject
        {
            ["verdict"] = r.Verdict.ToString().ToLowerInvariant(),
            ["reason"] = r.Reason,
            ["first_to_last_ratio"] = Num(r.FirstToLastRatio),
            ["per_step_factor"] = Num(r.PerStepFactor),
            ["max_grad_norm"] = Num(r.MaxGradNorm),
            ["non_finite_steps"] = r.NonFiniteSteps,
            ["hidden_gradient_norms"] = new JsonArray(HiddenGradientNorms.Select(v => (JsonNode?)Num(v)).ToArray()),
            ["layer_norms"] = new JsonObject(LayerNorms.Select(l => KeyValuePair.Create(l.Layer, (JsonNode?)Num(l.Norm)))),
            ["parameter_norms"] = new JsonObject(ParameterNorms.Select(l => KeyValuePair.Create(l.Parameter, (JsonNode?)Num(l.Norm)))),
            ["steps"] = new JsonArray(_steps.Select(s => (JsonNode?)new JsonObject
            {
                ["step"] = s.Step, ["epoch"] = s.Epoch, ["loss"] = Num(s.Loss), ["grad_norm"] = Num(s.Norm), ["grad_norm_applied"] = Num(s.Applied),
            }).ToArray()),
        };
        File.WriteAllText(path, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(v.ToString(CultureInfo.InvariantCulture));
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
