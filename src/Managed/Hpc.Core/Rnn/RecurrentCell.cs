namespace Hpc;

/// <summary>The recurrent cell kinds. Values equal the native HPC_CELL_* constants.</summary>
public enum RecurrentCell
{
    /// <summary>Elman RNN with tanh: h = tanh(W_ih x + b_ih + W_hh h + b_hh).</summary>
    RnnTanh = 1,
    /// <summary>Elman RNN with relu: h = relu(W_ih x + b_ih + W_hh h + b_hh).</summary>
    RnnRelu = 2,
    /// <summary>LSTM with PyTorch's gate order i, f, g, o.</summary>
    Lstm = 3,
    /// <summary>LSTM with peephole connections: i and f see c_{t-1}, o sees c_t (per-unit vectors).</summary>
    LstmPeephole = 4,
    /// <summary>GRU with PyTorch's gate order r, z, n and r applied to (W_hn h + b_hn).</summary>
    Gru = 5,
}

/// <summary>Nonlinearity of a vanilla RNN.</summary>
public enum Nonlinearity
{
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Rectified linear unit.</summary>
    Relu,
}

/// <summary>One parameter tensor of a recurrent module: its PyTorch name, shape and place in the flat buffer.</summary>
/// <param name="Name">PyTorch's name, e.g. <c>weight_ih_l0_reverse</c>.</param>
/// <param name="Shape">Row-major shape: [G*H, I_k] for weights, [G*H] for biases, [H] for peepholes.</param>
/// <param name="Offset">Element offset in <see cref="RecurrentModule{T}.Parameters"/>.</param>
/// <param name="Length">Number of elements.</param>
public sealed record ParameterInfo(string Name, IReadOnlyList<int> Shape, int Offset, int Length);
