#!/usr/bin/python3
"""Reference data for the training toolkit, produced by PyTorch (Debian's python3-torch).

Run:  /usr/bin/python3 tests/reference/generate_training_references.py
Writes tests/data/train/optimizers.json (parameters after each of 6 steps for given gradients, float64 and float32),
clipping.json (clip_grad_norm_ / clip_grad_value_) and schedules.json (learning rates per epoch).
"""
import json
import os

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "train")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)

OPTIMIZERS = [
    ("sgd", torch.optim.SGD, dict(lr=0.1)),
    ("sgd_wd", torch.optim.SGD, dict(lr=0.05, weight_decay=0.01)),
    ("momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    ("momentum_dampening", torch.optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.02)),
    ("nesterov", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("rmsprop", torch.optim.RMSprop, dict(lr=0.01)),
    ("rmsprop_momentum", torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.01)),
    ("adam", torch.optim.Adam, dict(lr=1e-3)),
    ("adam_wd", torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("adamw", torch.optim.AdamW, dict(lr=1e-3)),
    ("adamw_custom", torch.optim.AdamW, dict(lr=5e-3, betas=(0.85, 0.95), weight_decay=0.1)),
    ("adagrad", torch.optim.Adagrad, dict(lr=1e-2)),
    ("adagrad_decay", torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


def optimizer_cases():
    cases = []
    rng = np.random.Generator(np.random.PCG64(7))
    shapes = [(3, 4), (5,)]
    p0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(6)]
    for name, cls, kw in OPTIMIZERS:
        case = {"name": name, "optimizer": cls.__name__, "hparams": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
                "initial": [p.reshape(-1).tolist() for p in p0], "grads": [[g.reshape(-1).tolist() for g in step] for step in grads]}
        for dtype, key in ((torch.float64, "after_float64"), (torch.float32, "after_float32")):
            params = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in p0]
            opt = cls(params, **kw)
            after = []
            for step in grads:
                for p, g in zip(params, step):
                    p.grad = torch.tensor(g, dtype=dtype)
                opt.step()
                after.append([p.detach().reshape(-1).tolist() for p in params])
            case[key] = after
        cases.append(case)
    return cases


def clipping_cases():
    rng = np.random.Generator(np.random.PCG64(8))
    out = []
    for max_norm, norm_type in ((1.0, 2.0), (100.0, 2.0), (0.5, float("inf"))):
        g = [rng.standard_normal(s) * 3 for s in ((4, 3), (7,))]
        params = [torch.zeros(x.shape, dtype=torch.float64, requires_grad=True) for x in g]
        for p, x in zip(params, g):
            p.grad = torch.tensor(x)
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        out.append({"kind": "norm", "max_norm": max_norm, "norm_type": "inf" if norm_type == float("inf") else 2,
                    "grads": [x.reshape(-1).tolist() for x in g], "total_norm": float(total),
                    "clipped": [p.grad.reshape(-1).tolist() for p in params]})
    g = [rng.standard_normal((5, 2)) * 2]
    params = [torch.zeros(g[0].shape, dtype=torch.float64, requires_grad=True)]
    params[0].grad = torch.tensor(g[0])
    torch.nn.utils.clip_grad_value_(params, 0.7)
    out.append({"kind": "value", "clip_value": 0.7, "grads": [g[0].reshape(-1).tolist()], "clipped": [params[0].grad.reshape(-1).tolist()]})
    return out


def schedule_cases():
    def run(name, make, epochs=40, metrics=None, lr=0.1):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=lr)
        sched = make(opt)
        lrs = []
        for e in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[e])
        return {"name": name, "base_lr": lr, "lrs": lrs, "metrics": metrics}
    S = torch.optim.lr_scheduler
    plateau_metrics = [1.0 / (1 + e) if e < 10 else 0.1 + 0.001 * ((e * 7) % 3) for e in range(40)]
    return [
        run("step", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        run("exponential", lambda o: S.ExponentialLR(o, gamma=0.9)),
        run("cosine", lambda o: S.CosineAnnealingLR(o, T_max=15, eta_min=0.001)),
        run("cyclic_triangular", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular", cycle_momentum=False), lr=0.01),
        run("plateau", lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=3, threshold=1e-4, cooldown=1, min_lr=0.005), metrics=plateau_metrics),
    ]


def main():
    meta = {"source": f"PyTorch {torch.__version__} (tests/reference/generate_training_references.py)"}
    for name, data in (("optimizers", optimizer_cases()), ("clipping", clipping_cases()), ("schedules", schedule_cases())):
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({**meta, "cases": data}, f)
        print("wrote", os.path.join("tests", "data", "train", name + ".json"))


if __name__ == "__main__":
    main()
