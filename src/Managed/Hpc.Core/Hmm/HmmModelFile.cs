using System.Text.Json;

namespace Hpc.Hmm;

/// <summary>
/// Loads and saves HMMs as one JSON object with nested arrays in hmmlearn's shapes: <c>emission</c>
/// ("gaussian"/"categorical"), <c>covariance_type</c>, <c>n_components</c>, <c>n_features</c>, <c>startprob</c> [K],
/// <c>transmat</c> [K][K], <c>means</c> [K][D], <c>covars</c> (spherical [K], diag [K][D], full [K][D][D], tied
/// [D][D]), <c>emissionprob</c> [K][M], and the hyper-parameters by hmmlearn's names. Missing hyper-parameters take
/// hmmlearn's defaults. Doubles are written in their shortest round-trip form, so values round-trip bit-exactly.
/// </summary>
public static class HmmModelFile
{
    /// <summary>Writes a Gaussian or categorical model.</summary>
    /// <exception cref="InvalidOperationException">The model has no parameters yet.</exception>
    public static void Save(string path, object model)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        switch (model)
        {
            case GaussianHmm g:
                if (g.Startprob == null || g.Transmat == null || g.Means == null || g.Covars == null)
                    throw new InvalidOperationException("The model has no parameters to save yet.");
                int k = g.NComponents, d = g.NFeatures;
                w.WriteString("emission", "gaussian");
                w.WriteString("covariance_type", g.CovarianceType.ToString().ToLowerInvariant());
                w.WriteNumber("n_components", k);
                w.WriteNumber("n_features", d);
                WriteArray(w, "startprob", g.Startprob, [k]);
                WriteArray(w, "transmat", g.Transmat, [k, k]);
                WriteArray(w, "means", g.Means, [k, d]);
                WriteArray(w, "covars", g.Covars, GaussianHmm.CovarsShape(g.CovarianceType, k, d));
                w.WriteNumber("min_covar", g.MinCovar);
                w.WriteNumber("startprob_prior", g.StartprobPrior);
                w.WriteNumber("transmat_prior", g.TransmatPrior);
                w.WriteNumber("means_prior", g.MeansPrior);
                w.WriteNumber("means_weight", g.MeansWeight);
                w.WriteNumber("covars_prior", g.CovarsPrior);
                w.WriteNumber("covars_weight", g.CovarsWeight);
                break;
            case CategoricalHmm c:
                if (c.Startprob == null || c.Transmat == null || c.Emissionprob == null)
                    throw new InvalidOperationException("The model has no parameters to save yet.");
                w.WriteString("emission", "categorical");
                w.WriteNumber("n_components", c.NComponents);
                w.WriteNumber("n_features", c.NFeatures);
                WriteArray(w, "startprob", c.Startprob, [c.NComponents]);
                WriteArray(w, "transmat", c.Transmat, [c.NComponents, c.NComponents]);
                WriteArray(w, "emissionprob", c.Emissionprob, [c.NComponents, c.NFeatures]);
                w.WriteNumber("startprob_prior", c.StartprobPrior);
                w.WriteNumber("transmat_prior", c.TransmatPrior);
                w.WriteNumber("emissionprob_prior", c.EmissionprobPrior);
                break;
            default:
                throw new ArgumentException($"model: expected a GaussianHmm or CategoricalHmm, got {model?.GetType().Name ?? "null"}.", nameof(model));
        }
        w.WriteEndObject();
    }

    /// <summary>Reads a model: a <see cref="GaussianHmm"/> or a <see cref="CategoricalHmm"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON or a field is missing, misshapen or invalid;
    /// the message names the file, the field, the expected and the actual value.</exception>
    public static object Load(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}"); }
        using var _ = doc;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object, got {root.ValueKind}.");
        string emission = String(root, "emission", path);
        int k = Int(root, "n_components", path);
        int d = Int(root, "n_features", path);
        try
        {
            switch (emission)
            {
                case "gaussian":
                {
                    string ct = root.TryGetProperty("covariance_type", out var ce) && ce.ValueKind == JsonValueKind.String ? ce.GetString()! : "diag";
                    CovarianceType type = ct switch
                    {
                        "spherical" => CovarianceType.Spherical, "diag" => CovarianceType.Diag, "full" => CovarianceType.Full,
                        "tied" => CovarianceType.Tied,
                        _ => throw new InvalidDataException($"{path}: 'covariance_type': expected spherical, diag, full or tied, got '{ct}'."),
                    };
                    var g = new GaussianHmm(k, type, d)
                    {
                        MinCovar = Number(root, "min_covar", 1e-3, path),
                        StartprobPrior = Number(root, "startprob_prior", 1.0, path),
                        TransmatPrior = Number(root, "transmat_prior", 1.0, path),
                        MeansPrior = Number(root, "means_prior", 0.0, path),
                        MeansWeight = Number(root, "means_weight", 0.0, path),
                        CovarsPrior = Number(root, "covars_prior", 1e-2, path),
                        CovarsWeight = Number(root, "covars_weight", 1.0, path),
                    };
                    g.Startprob = Array(root, "startprob", [k], path);
                    g.Transmat = Array(root, "transmat", [k, k], path);
                    g.Means = Array(root, "means", [k, d], path);
                    g.Covars = Array(root, "covars", GaussianHmm.CovarsShape(type, k, d), path);
                    return g;
                }
                case "categorical":
                {
                    var c = new CategoricalHmm(k, d)
                    {
                        StartprobPrior = Number(root, "startprob_prior", 1.0, path),
                        TransmatPrior = Number(root, "transmat_prior", 1.0, path),
                        EmissionprobPrior = Number(root, "emissionprob_prior", 1.0, path),
                    };
                    c.Startprob = Array(root, "startprob", [k], path);
                    c.Transmat = Array(root, "transmat", [k, k], path);
                    c.Emissionprob = Array(root, "emissionprob", [k, d], path);
                    return c;
                }
                default:
                    throw new InvalidDataException($"{path}: 'emission': expected \"gaussian\" or \"categorical\", got \"{emission}\".");
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
    }

    private static void WriteArray(Utf8JsonWriter w, string name, double[] v, int[] shape)
    {
        w.WritePropertyName(name);
        int i = 0;
        void Level(int dim)
        {
            w.WriteStartArray();
            for (int j = 0; j < shape[dim]; j++)
            {
                if (dim == shape.Length - 1) w.WriteNumberValue(v[i++]);
                else Level(dim + 1);
            }
            w.WriteEndArray();
        }
        Level(0);
    }

    private static string String(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw new InvalidDataException($"{path}: '{name}': expected a string, got {(root.TryGetProperty(name, out var f) ? f.ValueKind.ToString() : "nothing")}.");

    private static int Int(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v > 0 ? v
            : throw new InvalidDataException($"{path}: '{name}': expected a positive integer, got {(root.TryGetProperty(name, out var f) ? f.GetRawText() : "nothing")}.");

    private static double Number(JsonElement root, string name, double fallback, string path)
    {
        if (!root.TryGetProperty(name, out var e)) return fallback;
        return e.ValueKind == JsonValueKind.Number ? e.GetDouble()
            : throw new InvalidDataException($"{path}: '{name}': expected a number, got {e.GetRawText()}.");
    }

    private static double[] Array(JsonElement root, string name, int[] shape, string path)
    {
        if (!root.TryGetProperty(name, out var e))
            throw new InvalidDataException($"{path}: '{name}': missing (expected shape [{string.Join(", ", shape)}]).");
        var values = new List<double>();
        var actual = new List<int>();
        bool ok = true;
        void Walk(JsonElement el, int dim)
        {
            if (dim == shape.Length)
            {
                if (el.ValueKind != JsonValueKind.Number) { ok = false; return; }
                values.Add(el.GetDouble());
                return;
            }
            if (el.ValueKind != JsonValueKind.Array) { ok = false; return; }
            int len = el.GetArrayLength();
            if (actual.Count <= dim) actual.Add(len);
            if (len != shape[dim]) ok = false;
            foreach (var c in el.EnumerateArray()) Walk(c, dim + 1);
        }
        Walk(e, 0);
        if (!ok)
            throw new InvalidDataException($"{path}: '{name}': expected numbers of shape [{string.Join(", ", shape)}], got [{string.Join(", ", actual)}]{(actual.Count == shape.Length ? "" : " (a different nesting depth)")}.");
        return values.ToArray();
    }
}
