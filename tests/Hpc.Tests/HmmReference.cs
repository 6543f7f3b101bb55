using System.Text.Json;
using Hpc.Hmm;

namespace Hpc.Tests;

/// <summary>A case from ../shared/refs/hmm (hmmlearn 0.3.3): parameters, data, outputs, one EM iteration.</summary>
internal sealed class HmmReference(string path) : JsonCase(path)
{
    public bool Categorical => Root.GetProperty("model").GetString() == "CategoricalHMM";
    public int K => Root.GetProperty("n_components").GetInt32();
    public int D => Root.GetProperty("n_features").GetInt32();
    public CovarianceType Covariance => Enum.Parse<CovarianceType>(Root.GetProperty("covariance_type").GetString()!, ignoreCase: true);
    public int[] Lengths => Root.GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static double[] Flat(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray()
        : e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(v => v.GetDouble()).ToArray()
        : [e.GetDouble()];

    public double[] Get(params string[] path)
    {
        var e = Root;
        foreach (var p in path) e = e.GetProperty(p);
        return Flat(e);
    }

    public bool Has(params string[] path)
    {
        var e = Root;
        foreach (var p in path) if (!e.TryGetProperty(p, out e)) return false;
        return true;
    }

    public double Scalar(params string[] path) => Get(path)[0];
    public string Text(params string[] path)
    {
        var e = Root;
        foreach (var p in path) e = e.GetProperty(p);
        return e.GetString()!;
    }

    public double[] X => Get("X");
    public int[] Symbols => X.Select(v => (int)v).ToArray();

    /// <summary>The model with the case's parameters and hyper-parameters, as hmmlearn had it.</summary>
    public object Model()
    {
        if (Categorical)
        {
            return new CategoricalHmm(K, D)
            {
                Startprob = Get("params", "startprob"), Transmat = Get("params", "transmat"), Emissionprob = Get("params", "emissionprob"),
                StartprobPrior = Scalar("priors", "startprob_prior"), TransmatPrior = Scalar("priors", "transmat_prior"),
                EmissionprobPrior = Scalar("priors", "emissionprob_prior"),
            };
        }
        var g = new GaussianHmm(K, Covariance, D)
        {
            MinCovar = Scalar("priors", "min_covar"), CovarsPrior = Scalar("priors", "covars_prior"), CovarsWeight = Scalar("priors", "covars_weight"),
            MeansPrior = Scalar("priors", "means_prior"), MeansWeight = Scalar("priors", "means_weight"),
            StartprobPrior = Scalar("priors", "startprob_prior"), TransmatPrior = Scalar("priors", "transmat_prior"),
        };
        g.Startprob = Get("params", "startprob");
        g.Transmat = Get("params", "transmat");
        g.Means = Get("params", "means");
        g.Covars = Get("params", "covars");
        return g;
    }
}
