#!/usr/bin/python3
"""Writes the bundled HMM example data: 5 sequences sampled from a 3-state Gaussian HMM (2 features).

Run with Debian's python3-numpy:  /usr/bin/python3 examples/hmm/make_data.py
observations.npy [N, 2] float64, lengths.npy [5] int64, true_states.npy [N] int64.
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.Generator(np.random.PCG64(2026))
startprob = np.array([0.6, 0.3, 0.1])
transmat = np.array([[0.90, 0.07, 0.03], [0.05, 0.90, 0.05], [0.02, 0.08, 0.90]])
means = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])
sds = np.array([[0.7, 1.0], [1.0, 0.7], [0.9, 0.9]])
xs, zs, lengths = [], [], []
for length in (120, 80, 200, 60, 140):
    z = [rng.choice(3, p=startprob)]
    for _ in range(length - 1):
        z.append(rng.choice(3, p=transmat[z[-1]]))
    z = np.array(z)
    xs.append(means[z] + sds[z] * rng.standard_normal((length, 2)))
    zs.append(z)
    lengths.append(length)
np.save(os.path.join(here, "observations.npy"), np.concatenate(xs))
np.save(os.path.join(here, "lengths.npy"), np.array(lengths, dtype=np.int64))
np.save(os.path.join(here, "true_states.npy"), np.concatenate(zs).astype(np.int64))
print("wrote", sum(lengths), "observations in", len(lengths), "sequences")
