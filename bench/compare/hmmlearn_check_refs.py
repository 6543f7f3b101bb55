#!/usr/bin/env python3
"""Checks an hmmlearn against the reference files it made (../shared/refs/hmm), before it is timed side by side.

hmmlearn cannot be installed where PyPI is out of reach; hmm_side_by_side.py then runs a copy rebuilt from its public
source (--hmmlearn-path). This script loads that copy (or an installed hmmlearn, with no HMMLEARN_PATH), rebuilds each
reference model with init_params='' and prints, per file, the largest difference of every output: emission
log-likelihoods, score, posteriors, Viterbi log-probability and path (mismatches), the scaling mode's score, and one EM
iteration's parameters. The references were made on an AVX2 machine: on an AVX-512 one, numpy's and OpenBLAS's
AVX-512 paths round differently in the last bits (NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512_SKX AVX512_CLX
AVX512_CNL AVX512_ICL" OPENBLAS_CORETYPE=Haswell turn them off).

  HMMLEARN_PATH=.hmmlearn /usr/bin/python3 bench/compare/hmmlearn_check_refs.py ../shared/refs/hmm
"""
import glob, json, os, sys
import numpy as np
if os.environ.get("HMMLEARN_PATH"):
    sys.path.insert(0, os.path.abspath(os.environ["HMMLEARN_PATH"]))
from hmmlearn import hmm  # noqa: E402

def arr(v):
    return np.array(v["data"], dtype=v.get("dtype", "float64")).reshape(v["shape"]) if isinstance(v, dict) and "shape" in v else np.array(v)

def build(d, impl="log", n_iter=1):
    p = {k: arr(v) for k, v in d["params"].items()}
    pr = d["priors"]
    if d["model"] == "GaussianHMM":
        m = hmm.GaussianHMM(d["n_components"], covariance_type=d["covariance_type"], init_params="", n_iter=n_iter,
                            implementation=impl, **pr)
        m.means_ = p["means"]; m.covars_ = p["covars"]
    else:
        m = hmm.CategoricalHMM(d["n_components"], n_features=d["n_features"], init_params="", n_iter=n_iter,
                               implementation=impl, **pr)
        m.emissionprob_ = p["emissionprob"]
    m.startprob_ = p["startprob"]; m.transmat_ = p["transmat"]
    return m

worst_all = 0.0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    d = json.load(open(f))
    X, L = arr(d["X"]), d["lengths"]
    o = d["outputs"]
    m = build(d)
    diffs = {}
    diffs["emission_loglik"] = np.max(np.abs(m._compute_log_likelihood(X) - arr(o["emission_loglik"])))
    diffs["score"] = abs(m.score(X, L) - o["score"])
    lp, post = m.score_samples(X, L)
    diffs["posteriors"] = np.max(np.abs(post - arr(o["posteriors"])))
    vlp, path = m.decode(X, L)
    diffs["viterbi_logprob"] = abs(vlp - o["viterbi_logprob"])
    diffs["viterbi_path"] = int(np.sum(path != arr(o["viterbi_path"])))
    if o.get("score_scaling") is not None:
        diffs["score_scaling"] = abs(build(d, "scaling").score(X, L) - o["score_scaling"])
    e = d["em_one_iter"]
    m = build(d, n_iter=1)
    m.fit(X, L)
    diffs["em_loglik"] = abs(m.monitor_.history[-1] - e["loglik_estep"])
    for k in ("startprob", "transmat", "means", "covars", "emissionprob"):
        if k in e:
            got = m._covars_ if k == "covars" else getattr(m, k + "_")
            if k == "covars" and d.get("covariance_type") == "spherical":
                got = got[:, 0]
            diffs["em_" + k] = np.max(np.abs(got - arr(e[k])))
    worst = max(float(v) for v in diffs.values())
    worst_all = max(worst_all, worst)
    print(os.path.basename(f), "largest difference", worst, {k: float(v) for k, v in diffs.items() if v})
print("all files: largest difference", worst_all)
