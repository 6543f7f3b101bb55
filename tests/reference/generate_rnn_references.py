#!/usr/bin/python3
"""Generates the PyTorch reference data the managed tests check against.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/generate_rnn_references.py
Writes
  tests/data/rnn/torch_*.json   float64 cases in the format of ../shared/refs/rnn (outputs, final states and the
                                gradients of loss = sum(output*G) + sum(h_n*Gh) [+ sum(c_n*Gc)])
  tests/data/cli/*              PyTorch-exported safetensors + .npy inputs and PyTorch's outputs (float64, float32)
  examples/lstm/*               the bundled model and data that the README's main command runs
Deterministic: every case has its own seed.
"""
import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
torch.set_num_threads(1)

EQUATIONS = {
    "RNN_TANH": ["h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"],
    "RNN_RELU": ["h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"],
    "LSTM": ["i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)", "f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)",
             "g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)", "o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)",
             "c_t = f_t * c_{t-1} + i_t * g_t", "h_t = o_t * tanh(c_t)"],
    "GRU": ["r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)", "z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)",
            "n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))", "h_t = (1 - z_t) * n_t + z_t * h_{t-1}"],
}


def make_module(cell, I, H, L, bi, batch_first, dtype):
    kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=bi, batch_first=batch_first)
    if cell == "LSTM":
        m = torch.nn.LSTM(**kw)
    elif cell == "GRU":
        m = torch.nn.GRU(**kw)
    else:
        m = torch.nn.RNN(nonlinearity="tanh" if cell == "RNN_TANH" else "relu", **kw)
    return m.to(dtype)


def arr(t):
    a = t.detach().cpu().numpy()
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def reference_case(name, seed, cell, L, bi, B, T, I, H, state, batch_first=True):
    torch.manual_seed(seed)
    rng = np.random.Generator(np.random.PCG64(seed))
    D = 2 if bi else 1
    m = make_module(cell, I, H, L, bi, batch_first, torch.float64)
    xs = (B, T, I) if batch_first else (T, B, I)
    ys = (B, T, D * H) if batch_first else (T, B, D * H)
    x = torch.tensor(rng.standard_normal(xs), requires_grad=True)
    h0 = torch.tensor(rng.standard_normal((L * D, B, H)), requires_grad=True)
    c0 = torch.tensor(rng.standard_normal((L * D, B, H)), requires_grad=True)
    G = torch.tensor(rng.standard_normal(ys))
    Gh = torch.tensor(rng.standard_normal((L * D, B, H)))
    Gc = torch.tensor(rng.standard_normal((L * D, B, H)))
    lstm = cell == "LSTM"
    if lstm:
        out, (hn, cn) = m(x, (h0, c0)) if state else m(x)
        loss = (out * G).sum() + (hn * Gh).sum() + (cn * Gc).sum()
    else:
        out, hn = m(x, h0) if state else m(x)
        loss = (out * G).sum() + (hn * Gh).sum()
    loss.backward()
    names = [n for n, _ in m.named_parameters()]
    case = {
        "name": name, "source": f"PyTorch {torch.__version__} float64 nn.{type(m).__name__} + autograd "
                                "(tests/reference/generate_rnn_references.py)",
        "seed": seed, "dtype": "float64", "cell": cell, "nonlinearity": {"RNN_TANH": "tanh", "RNN_RELU": "relu"}.get(cell),
        "num_layers": L, "bidirectional": bi, "num_directions": D, "batch_first": batch_first, "bias": True,
        "batch": B, "seq_len": T, "input_size": I, "hidden_size": H, "has_initial_state": state,
        "gate_order": {"LSTM": "i,f,g,o", "GRU": "r,z,n"}.get(cell), "equations": EQUATIONS[cell],
        "layout": ("batch_first: x [B,T,I], output [B,T,D*H]" if batch_first else "time-major: x [T,B,I], output [T,B,D*H]")
                  + "; h0,c0,h_n,c_n [L*D,B,H], index layer*D + direction",
        "loss": "sum(output*G) + sum(h_n*Gh)" + (" + sum(c_n*Gc)" if lstm else ""),
        "param_names": names,
        "inputs": {"x": arr(x)},
        "params": {n: arr(p) for n, p in m.named_parameters()},
        "cotangents": {"G": arr(G), "Gh": arr(Gh)},
        "outputs": {"output": arr(out), "h_n": arr(hn)},
        "grads": {"x": arr(x.grad)},
    }
    if state:
        case["inputs"]["h0"] = arr(h0)
        case["grads"]["h0"] = arr(h0.grad)
        if lstm:
            case["inputs"]["c0"] = arr(c0)
            case["grads"]["c0"] = arr(c0.grad)
    if lstm:
        case["cotangents"]["Gc"] = arr(Gc)
        case["outputs"]["c_n"] = arr(cn)
    for n, p in m.named_parameters():
        case["grads"][n] = arr(p.grad)
    path = os.path.join(ROOT, "tests", "data", "rnn", name + ".json")
    with open(path, "w") as f:
        json.dump(case, f)
    print("wrote", os.path.relpath(path, ROOT))


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer (the format: u64 header length, JSON header, raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy())
        dt = {np.float32: "F32", np.float64: "F64"}[a.dtype.type]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def export_model(folder, prefix, seed, cell, L, bi, B, T, I, H, dtype, state, batch_first=True):
    torch.manual_seed(seed)
    D = 2 if bi else 1
    m = make_module(cell, I, H, L, bi, batch_first, dtype)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype)
    h0 = torch.randn(L * D, B, H, dtype=dtype)
    c0 = torch.randn(L * D, B, H, dtype=dtype)
    with torch.no_grad():
        if cell == "LSTM":
            y, (hn, cn) = m(x, (h0, c0)) if state else m(x)
        else:
            y, hn = m(x, h0) if state else m(x)
            cn = None
    os.makedirs(folder, exist_ok=True)
    p = lambda s: os.path.join(folder, f"{prefix}{s}")
    write_safetensors(p("weights.safetensors"), dict(m.named_parameters()),
                      {"producer": "PyTorch " + torch.__version__, "cell": cell.lower(), "num_layers": str(L),
                       "bidirectional": str(bi).lower()})
    np.save(p("input.npy"), x.numpy())
    np.save(p("expected_output.npy"), y.numpy())
    np.save(p("expected_hn.npy"), hn.numpy())
    if state:
        np.save(p("h0.npy"), h0.numpy())
        if cell == "LSTM":
            np.save(p("c0.npy"), c0.numpy())
    if cn is not None:
        np.save(p("expected_cn.npy"), cn.numpy())
    print("wrote", os.path.relpath(p("*"), ROOT))


def main():
    cases = [
        ("torch_lstm_l2_bi_b3_t4_i3_h5_state", 2001, "LSTM", 2, True, 3, 4, 3, 5, True),
        ("torch_lstm_l3_bi_b1_t3_i2_h3_state", 2002, "LSTM", 3, True, 1, 3, 2, 3, True),
        ("torch_gru_l3_bi_b2_t5_i4_h3", 2003, "GRU", 3, True, 2, 5, 4, 3, False),
        ("torch_rnn_tanh_l2_bi_b2_t6_i3_h4_state", 2004, "RNN_TANH", 2, True, 2, 6, 3, 4, True),
        ("torch_rnn_relu_l3_uni_b4_t3_i5_h3", 2005, "RNN_RELU", 3, False, 4, 3, 5, 3, False),
    ]
    for c in cases:
        reference_case(*c)
    reference_case("torch_gru_l2_uni_b3_t4_i2_h4_state_timemajor", 2006, "GRU", 2, False, 3, 4, 2, 4, True, False)
    reference_case("torch_lstm_l1_uni_b2_t7_i6_h2_state_timemajor", 2007, "LSTM", 1, False, 2, 7, 6, 2, True, False)

    cli = os.path.join(ROOT, "tests", "data", "cli")
    export_model(cli, "lstm_f64_", 3001, "LSTM", 2, True, 3, 6, 4, 5, torch.float64, True)
    export_model(cli, "lstm_f32_", 3002, "LSTM", 2, True, 3, 6, 4, 5, torch.float32, True)
    export_model(cli, "gru_f32_", 3003, "GRU", 1, False, 2, 5, 3, 4, torch.float32, False)
    export_model(cli, "rnn_relu_f64_", 3004, "RNN_RELU", 2, False, 2, 4, 3, 3, torch.float64, True)
    export_model(os.path.join(ROOT, "examples", "lstm"), "", 4001, "LSTM", 2, True, 4, 12, 8, 16, torch.float32, True)


if __name__ == "__main__":
    main()
