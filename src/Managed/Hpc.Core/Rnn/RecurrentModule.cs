using System.Numerics;
using Hpc.Interop;
using Hpc.IO;

namespace Hpc;

/// <summary>
/// A stacked, optionally bidirectional recurrent network (RNN, LSTM, peephole LSTM or GRU) computed by the native
/// core, with PyTorch's parameter names, shapes and order so that a PyTorch state_dict loads unchanged.
/// </summary>
/// <remarks>
/// Shapes (B = batch, T = sequence length, I = input size, H = hidden size, L = layers, D = 2 if bidirectional):
/// input [B, T, I] (or [T, B, I] when <see cref="BatchFirst"/> is false), output [B, T, D*H] (directions
/// concatenated per time step), states h0/c0/hn/cn [L*D, B, H] indexed layer*D + direction.
/// Not thread-safe: the module owns one native workspace. Dispose it to free native memory deterministically.
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract unsafe class RecurrentModule<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RnnHandle _handle;
    private readonly T[] _parameters;
    private readonly T[] _gradients;
    private readonly ParameterInfo[] _infos;
    private readonly Dictionary<string, ParameterInfo> _byName;
    private int _savedBatch, _savedSeqLen;

    private protected RecurrentModule(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers,
        bool bidirectional, bool batchFirst, ulong seed)
    {
        Validate.Positive(inputSize, nameof(inputSize));
        Validate.Positive(hiddenSize, nameof(hiddenSize));
        Validate.Positive(numLayers, nameof(numLayers));
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bidirectional = bidirectional;
        BatchFirst = batchFirst;
        var desc = Descriptor();
        long count, elements;
        Status.ThrowIfFailed(NativeMethods.hpc_rnn_param_layout(&desc, &count, &elements));
        if (elements > Array.MaxLength)
            throw new ArgumentException($"The network has {elements} parameters; at most {Array.MaxLength} are supported.", nameof(hiddenSize));
        _infos = new ParameterInfo[count];
        byte* name = stackalloc byte[128];
        long* shape = stackalloc long[2];
        for (long i = 0; i < count; i++)
        {
            long offset;
            int rank;
            Status.ThrowIfFailed(NativeMethods.hpc_rnn_param_info(&desc, i, name, 128, &offset, &rank, shape));
            int[] dims = rank == 2 ? [(int)shape[0], (int)shape[1]] : [(int)shape[0]];
            _infos[i] = new ParameterInfo(new string((sbyte*)name), dims, (int)offset, (int)(shape[0] * shape[1]));
        }
        _byName = _infos.ToDictionary(p => p.Name);
        _parameters = GC.AllocateArray<T>((int)elements, pinned: true);
        _gradients = GC.AllocateArray<T>((int)elements, pinned: true);
        _handle = RnnHandle.Create(desc);
        ResetParameters(seed);
    }

    /// <summary>The cell kind.</summary>
    public RecurrentCell Cell { get; }
    /// <summary>Features per input time step (I).</summary>
    public int InputSize { get; }
    /// <summary>Hidden units per direction (H).</summary>
    public int HiddenSize { get; }
    /// <summary>Number of stacked layers (L).</summary>
    public int NumLayers { get; }
    /// <summary>Whether every layer runs in both directions.</summary>
    public bool Bidirectional { get; }
    /// <summary>1, or 2 when <see cref="Bidirectional"/>.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;
    /// <summary>True: input [B, T, I] and output [B, T, D*H]; false: time-major [T, B, I] and [T, B, D*H].</summary>
    public bool BatchFirst { get; }
    /// <summary>Whether the cell has a cell state c (LSTM kinds).</summary>
    public bool HasCellState => Cell is RecurrentCell.Lstm or RecurrentCell.LstmPeephole;
    /// <summary>Features per output time step: D*H.</summary>
    public int OutputSize => NumDirections * HiddenSize;
    /// <summary>
    /// When true (the default) every call checks that inputs, states, gradients and parameters are finite and
    /// throws <see cref="ArgumentException"/> naming the first NaN or infinity. Turn off in hot loops whose data is
    /// known to be finite.
    /// </summary>
    public bool CheckFinite { get; set; } = true;

    /// <summary>All parameter tensors in PyTorch's order.</summary>
    public IReadOnlyList<ParameterInfo> ParameterInfos => _infos;
    /// <summary>Every parameter in one flat buffer, in the order of <see cref="ParameterInfos"/>.</summary>
    public Span<T> Parameters => _parameters;
    /// <summary>Gradients of every parameter, laid out like <see cref="Parameters"/>; written by <see cref="Backward"/>.</summary>
    public Span<T> Gradients => _gradients;

    /// <summary>The parameter tensor with PyTorch name <paramref name="name"/> (e.g. <c>weight_hh_l1_reverse</c>).</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name.</exception>
    public Span<T> Parameter(string name) { var p = Info(name); return _parameters.AsSpan(p.Offset, p.Length); }

    /// <summary>The gradient of the parameter named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name.</exception>
    public Span<T> Gradient(string name) { var p = Info(name); return _gradients.AsSpan(p.Offset, p.Length); }

    /// <summary>Describes the parameter named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name.</exception>
    public ParameterInfo Info(string name) =>
        _byName.TryGetValue(name, out var p) ? p
            : throw new KeyNotFoundException($"No parameter named '{name}'; this module has {string.Join(", ", _byName.Keys)}.");

    /// <summary>
    /// Memory-efficient BPTT: when &gt; 0, a training <see cref="Forward"/> keeps the layer outputs and the LSTM cell
    /// state only every <c>CheckpointEvery</c> steps instead of every gate activation, and <see cref="Backward"/>
    /// recomputes each segment from its checkpoint. Gradients are bit-identical to the plain path; the saved
    /// activations shrink (measure with <see cref="WorkspaceBytes"/>) at the cost of one more forward pass. 0 (the
    /// default) saves everything.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public int CheckpointEvery
    {
        get => _checkpointEvery;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), value, $"CheckpointEvery must be >= 0, got {value}.");
            Status.ThrowIfFailed(NativeMethods.hpc_rnn_set_checkpointing(Handle(), value));
            GC.KeepAlive(_handle);
            _checkpointEvery = value;
            _savedBatch = _savedSeqLen = 0;
        }
    }

    private int _checkpointEvery;

    /// <summary>
    /// Calls with fixed weights: copies the current <see cref="Parameters"/> into the native object, which
    /// (float32) also keeps every W_ih and W_hh packed for its product kernels, so that an inference
    /// <see cref="Forward"/> packs nothing per call and skips the parameters' finiteness check (done here once).
    /// Until <see cref="UnfreezeParameters"/> or another call of this method, inference uses that copy: writes to
    /// <see cref="Parameters"/> (an optimizer step, a span) are not seen by it, while <see cref="ResetParameters"/> and
    /// <see cref="LoadParameters(SafeTensors)"/> refresh it. With <paramref name="training"/> false (the default),
    /// training forwards and <see cref="Backward"/> use <see cref="Parameters"/>; with true they use the copy as well
    /// (float32: the first backward also packs every W_hh for the backward steps, kept with the copy), which suits
    /// several micro-batches whose gradients accumulate between two optimizer steps: freeze again after each step,
    /// or the next steps compute gradients of the old weights. The copy costs up to twice the parameters' memory
    /// (float32: the values and the packed weights; counted in <see cref="WorkspaceBytes"/>). Results equal the
    /// unfrozen ones to rounding (bit for bit unless the unfrozen call reads a weight in place; see
    /// hpc_rnn_freeze_params in hpc.h). Activations saved by a training forward on the previous copy are discarded.
    /// </summary>
    /// <param name="training">Whether training forwards and <see cref="Backward"/> use the copy too.</param>
    /// <exception cref="ArgumentException">(With <see cref="CheckFinite"/>) a parameter is NaN or infinite.</exception>
    public void FreezeParameters(bool training = false)
    {
        if (CheckFinite) Validate.Finite<T>(_parameters, "parameters");
        DiscardActivationsSavedOnTheCopy();
        fixed (T* pp = _parameters)
            Status.ThrowIfFailed(NativeMethods.hpc_rnn_freeze_params(Handle(), pp, _parameters.Length));
        GC.KeepAlive(_handle);
        ParametersFrozen = true;
        ParametersFrozenForTraining = training;
    }

    /// <summary>Releases the copy made by <see cref="FreezeParameters"/>: every call uses <see cref="Parameters"/> again.</summary>
    public void UnfreezeParameters()
    {
        DiscardActivationsSavedOnTheCopy();
        Status.ThrowIfFailed(NativeMethods.hpc_rnn_freeze_params(Handle(), null, 0));
        GC.KeepAlive(_handle);
        ParametersFrozen = ParametersFrozenForTraining = false;
    }

    // The native object discards them too when the copy changes (a backward would mix two sets of weights).
    private void DiscardActivationsSavedOnTheCopy()
    {
        if (_savedOnFrozen) _savedBatch = _savedSeqLen = 0;
        _savedOnFrozen = false;
    }

    /// <summary>Whether inference runs on a frozen copy of the parameters (<see cref="FreezeParameters"/>).</summary>
    public bool ParametersFrozen { get; private set; }

    /// <summary>Whether training forwards and <see cref="Backward"/> run on the frozen copy too
    /// (<see cref="FreezeParameters"/> with training: true).</summary>
    public bool ParametersFrozenForTraining { get; private set; }

    private bool _savedOnFrozen;

    /// <summary>Bytes of native workspace the module holds (it grows to the largest shape used).</summary>
    public long WorkspaceBytes
    {
        get { long b; Status.ThrowIfFailed(NativeMethods.hpc_rnn_workspace_bytes(Handle(), &b)); GC.KeepAlive(_handle); return b; }
    }

    /// <summary>
    /// Re-initialises every parameter from U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default for recurrent layers,
    /// with a deterministic generator seeded by <paramref name="seed"/>.
    /// </summary>
    public void ResetParameters(ulong seed)
    {
        double k = 1.0 / Math.Sqrt(HiddenSize);
        var rng = new SplitMix64(seed);
        for (int i = 0; i < _parameters.Length; i++) _parameters[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * k);
        if (ParametersFrozen) FreezeParameters(ParametersFrozenForTraining);
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGradients() => Array.Clear(_gradients);

    /// <summary>All parameters as one trainable tensor (values and gradients) for optimizers and clipping.</summary>
    /// <param name="name">The name it carries in reports.</param>
    public Training.ParameterTensor<T> AsParameterTensor(string name = "rnn") => new(name, _parameters, _gradients);

    /// <summary>
    /// Runs the network over a batch of sequences.
    /// </summary>
    /// <param name="input">[B, T, I] (or [T, B, I]).</param>
    /// <param name="batch">B &gt; 0.</param>
    /// <param name="seqLen">T &gt; 0.</param>
    /// <param name="output">Receives [B, T, D*H] (or [T, B, D*H]).</param>
    /// <param name="h0">Initial hidden states [L*D, B, H]; empty means zeros.</param>
    /// <param name="c0">Initial cell states [L*D, B, H] (LSTM kinds only); empty means zeros.</param>
    /// <param name="hn">Receives the final hidden states [L*D, B, H]; empty to skip.</param>
    /// <param name="cn">Receives the final cell states [L*D, B, H] (LSTM kinds only); empty to skip.</param>
    /// <param name="training">True saves the activations that <see cref="Backward"/> needs. False with
    /// <see cref="ParametersFrozen"/>, or true with <see cref="ParametersFrozenForTraining"/>, runs on the frozen copy
    /// of the parameters.</param>
    /// <exception cref="ArgumentOutOfRangeException">batch or seqLen is not positive.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length, a state is given for a cell without one,
    /// or (with <see cref="CheckFinite"/>) a value is NaN or infinite.</exception>
    public void Forward(ReadOnlySpan<T> input, int batch, int seqLen, Span<T> output,
        ReadOnlySpan<T> h0 = default, ReadOnlySpan<T> c0 = default, Span<T> hn = default, Span<T> cn = default,
        bool training = false)
    {
        Validate.Positive(batch, nameof(batch));
        Validate.Positive(seqLen, nameof(seqLen));
        long state = Validate.Product(NumLayers * NumDirections, batch, HiddenSize);
        Validate.Length(input.Length, Validate.Product(batch, seqLen, InputSize), nameof(input), InputShape(batch, seqLen));
        Validate.Length(output.Length, Validate.Product(batch, seqLen, OutputSize), nameof(output), OutputShape(batch, seqLen));
        Dims stateShape = StateShape(batch);
        Validate.Optional(h0.Length, state, nameof(h0), stateShape);
        Validate.Optional(hn.Length, state, nameof(hn), stateShape);
        CheckCellState(c0.Length, nameof(c0), state, stateShape);
        CheckCellState(cn.Length, nameof(cn), state, stateShape);
        // The frozen copy (FreezeParameters): in inference, and in training when frozen for it.
        bool frozen = ParametersFrozen && (!training || ParametersFrozenForTraining);
        if (CheckFinite)
        {
            Validate.Finite(input, nameof(input));
            Validate.Finite(h0, nameof(h0));
            Validate.Finite(c0, nameof(c0));
            if (!frozen) Validate.Finite<T>(_parameters, "parameters");
        }
        _savedBatch = _savedSeqLen = 0;
        _savedOnFrozen = false;
        fixed (T* px = input, py = output, ph0 = h0, pc0 = c0, phn = hn, pcn = cn, pp = _parameters)
        {
            Status.ThrowIfFailed(NativeMethods.hpc_rnn_forward(Handle(), training ? 1 : 0, batch, seqLen,
                px, input.Length, frozen ? null : pp, frozen ? 0 : _parameters.Length, ph0, h0.Length, pc0, c0.Length,
                py, output.Length, phn, hn.Length, pcn, cn.Length));
        }
        GC.KeepAlive(_handle);
        if (training) (_savedBatch, _savedSeqLen, _savedOnFrozen) = (batch, seqLen, frozen);
    }

    /// <summary>
    /// Backpropagation through time for the last training <see cref="Forward"/>: writes (or adds to) the parameter
    /// gradients in <see cref="Gradients"/> and, when asked, the gradients of the input and initial states. The
    /// weights are those that forward ran on: <see cref="Parameters"/>, or the frozen copy
    /// (<see cref="ParametersFrozenForTraining"/>).
    /// </summary>
    /// <param name="input">The input that the training forward used, [B, T, I].</param>
    /// <param name="gradOutput">dLoss/doutput, [B, T, D*H].</param>
    /// <param name="gradInput">Receives dLoss/dinput [B, T, I]; empty to skip.</param>
    /// <param name="gradHn">dLoss/dhn [L*D, B, H]; empty means zeros.</param>
    /// <param name="gradCn">dLoss/dcn [L*D, B, H] (LSTM kinds only); empty means zeros.</param>
    /// <param name="gradH0">Receives dLoss/dh0 [L*D, B, H]; empty to skip.</param>
    /// <param name="gradC0">Receives dLoss/dc0 [L*D, B, H] (LSTM kinds only); empty to skip.</param>
    /// <param name="accumulate">True adds to <see cref="Gradients"/> (PyTorch's .grad); false overwrites them.</param>
    /// <param name="gradTopHidden">Receives dLoss/dh_t of the last layer at every step, recurrence included,
    /// shaped like the output ([B, T, D*H]); empty to skip. Its norm over time shows vanishing or exploding gradients.</param>
    /// <exception cref="InvalidOperationException">There was no training forward since the last inference forward.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length, or (with <see cref="CheckFinite"/>) a gradient is not finite.</exception>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput, Span<T> gradInput = default,
        ReadOnlySpan<T> gradHn = default, ReadOnlySpan<T> gradCn = default, Span<T> gradH0 = default,
        Span<T> gradC0 = default, bool accumulate = false, Span<T> gradTopHidden = default)
    {
        if (_savedBatch == 0)
            throw new InvalidOperationException("Backward needs a preceding Forward with training: true (an inference Forward, and a FreezeParameters or UnfreezeParameters after a Forward on the frozen copy, discard the saved activations).");
        int batch = _savedBatch, seqLen = _savedSeqLen;
        long state = Validate.Product(NumLayers * NumDirections, batch, HiddenSize);
        Dims stateShape = StateShape(batch);
        Validate.Length(input.Length, Validate.Product(batch, seqLen, InputSize), nameof(input), InputShape(batch, seqLen));
        Validate.Length(gradOutput.Length, Validate.Product(batch, seqLen, OutputSize), nameof(gradOutput), OutputShape(batch, seqLen));
        Validate.Optional(gradInput.Length, input.Length, nameof(gradInput), InputShape(batch, seqLen));
        Validate.Optional(gradTopHidden.Length, gradOutput.Length, nameof(gradTopHidden), OutputShape(batch, seqLen));
        Validate.Optional(gradHn.Length, state, nameof(gradHn), stateShape);
        Validate.Optional(gradH0.Length, state, nameof(gradH0), stateShape);
        CheckCellState(gradCn.Length, nameof(gradCn), state, stateShape);
        CheckCellState(gradC0.Length, nameof(gradC0), state, stateShape);
        if (CheckFinite)
        {
            Validate.Finite(gradOutput, nameof(gradOutput));
            Validate.Finite(gradHn, nameof(gradHn));
            Validate.Finite(gradCn, nameof(gradCn));
        }
        fixed (T* px = input, pdy = gradOutput, pdx = gradInput, pdhn = gradHn, pdcn = gradCn, pdh0 = gradH0,
               pdc0 = gradC0, pp = _parameters, pg = _gradients, pdt = gradTopHidden)
        {
            // A forward on the frozen copy is differentiated on it (null: the native object's copy).
            Status.ThrowIfFailed(NativeMethods.hpc_rnn_backward(Handle(), px, input.Length,
                _savedOnFrozen ? null : pp, _savedOnFrozen ? 0 : _parameters.Length,
                pdy, gradOutput.Length, pdhn, gradHn.Length, pdcn, gradCn.Length, pdx, gradInput.Length,
                pdh0, gradH0.Length, pdc0, gradC0.Length, pg, _gradients.Length, accumulate ? 1 : 0, pdt, gradTopHidden.Length));
        }
        GC.KeepAlive(_handle);
    }

    /// <summary>
    /// Loads every parameter from tensors named and shaped as in PyTorch's state_dict (float32 or float64, converted
    /// to <typeparamref name="T"/>). Strict like <c>load_state_dict</c>: a missing, unexpected or misshapen tensor
    /// throws and leaves the parameters unchanged.
    /// </summary>
    /// <param name="file">The tensors, e.g. from <see cref="SafeTensors.Read(string)"/>.</param>
    /// <exception cref="InvalidDataException">A tensor is missing, extra, misshapen or not a float type.</exception>
    public void LoadParameters(SafeTensors file)
    {
        ArgumentNullException.ThrowIfNull(file);
        foreach (var name in file.Names)
            if (!_byName.ContainsKey(name))
                throw new InvalidDataException($"{file.Source}: unexpected tensor '{name}': a {Describe()} has {string.Join(", ", _byName.Keys)}.");
        var staged = new T[_parameters.Length];
        foreach (var p in _infos)
        {
            if (!file.TryGet(p.Name, out var t))
                throw new InvalidDataException($"{file.Source}: missing tensor '{p.Name}' (expected shape {Validate.Shape(p.Shape.Select(d => (long)d).ToArray())}).");
            if (!t.Shape.SequenceEqual(p.Shape.Select(d => (long)d)))
                throw new InvalidDataException($"{file.Source}: tensor '{p.Name}': expected shape {Validate.Shape(p.Shape.Select(d => (long)d).ToArray())}, got {Validate.Shape(t.Shape.ToArray())}.");
            t.CopyTo<T>(staged.AsSpan(p.Offset, p.Length));
        }
        staged.CopyTo(_parameters, 0);
        if (ParametersFrozen) FreezeParameters(ParametersFrozenForTraining);
    }

    /// <summary>Loads parameters from a .safetensors file; see <see cref="LoadParameters(SafeTensors)"/>.</summary>
    /// <param name="path">The file.</param>
    public void LoadSafeTensors(string path) => LoadParameters(SafeTensors.Read(path));

    /// <summary>Saves every parameter to a .safetensors file under PyTorch's names, in this module's element type.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    public void SaveSafeTensors(string path)
    {
        var w = new SafeTensorsWriter();
        foreach (var p in _infos)
            w.Add<T>(p.Name, p.Shape.Select(d => (long)d).ToArray(), _parameters.AsSpan(p.Offset, p.Length));
        w.Metadata["cell"] = Cell.ToString();
        w.Metadata["num_layers"] = NumLayers.ToString();
        w.Metadata["bidirectional"] = Bidirectional ? "true" : "false";
        w.Metadata["producer"] = "HPC";
        w.Save(path);
    }

    /// <summary>Frees the native workspace.</summary>
    public void Dispose()
    {
        _handle.Dispose();
        GC.SuppressFinalize(this);
    }

    private string Describe() => $"{Cell} with {NumLayers} layer(s){(Bidirectional ? ", bidirectional" : "")}";

    private void CheckCellState(int length, string name, long expected, Dims shape)
    {
        if (length != 0 && !HasCellState)
            throw new ArgumentException($"{name}: a {Cell} has no cell state; expected an empty span, got {length} elements.", name);
        Validate.Optional(length, expected, name, shape);
    }

    private Dims InputShape(long b, long t) => BatchFirst ? new(b, t, InputSize) : new(t, b, InputSize);
    private Dims OutputShape(long b, long t) => BatchFirst ? new(b, t, OutputSize) : new(t, b, OutputSize);
    private Dims StateShape(long b) => new(NumLayers * NumDirections, b, HiddenSize);

    private nint Handle()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        return _handle.DangerousGetHandle();
    }

    private RnnDesc Descriptor() => new()
    {
        Cell = (int)Cell,
        DType = Validate.DTypeOf<T>(),
        InputSize = InputSize,
        HiddenSize = HiddenSize,
        NumLayers = NumLayers,
        Bidirectional = Bidirectional ? 1 : 0,
        BatchFirst = BatchFirst ? 1 : 0,
    };
}

/// <summary>Elman RNN (PyTorch's nn.RNN) with tanh or relu.</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Rnn<T> : RecurrentModule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates an RNN with parameters drawn from U(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="inputSize">Features per input step (I &gt; 0).</param>
    /// <param name="hiddenSize">Hidden units (H &gt; 0).</param>
    /// <param name="numLayers">Stacked layers (L &gt; 0).</param>
    /// <param name="nonlinearity">tanh (default) or relu.</param>
    /// <param name="bidirectional">Run each layer in both directions.</param>
    /// <param name="batchFirst">[B, T, I] (default) or time-major [T, B, I].</param>
    /// <param name="seed">Seed of the parameter initialisation.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public Rnn(int inputSize, int hiddenSize, int numLayers = 1, Nonlinearity nonlinearity = Nonlinearity.Tanh,
        bool bidirectional = false, bool batchFirst = true, ulong seed = 0)
        : base(nonlinearity == Nonlinearity.Relu ? RecurrentCell.RnnRelu : RecurrentCell.RnnTanh, inputSize,
            hiddenSize, numLayers, bidirectional, batchFirst, seed) { }

    /// <summary>The nonlinearity.</summary>
    public Nonlinearity Nonlinearity => Cell == RecurrentCell.RnnRelu ? Nonlinearity.Relu : Nonlinearity.Tanh;
}

/// <summary>LSTM (PyTorch's nn.LSTM), optionally with peephole connections.</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Lstm<T> : RecurrentModule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates an LSTM with parameters drawn from U(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="inputSize">Features per input step (I &gt; 0).</param>
    /// <param name="hiddenSize">Hidden units (H &gt; 0).</param>
    /// <param name="numLayers">Stacked layers (L &gt; 0).</param>
    /// <param name="bidirectional">Run each layer in both directions.</param>
    /// <param name="peephole">Add per-unit peephole vectors peephole_i/f/o_l{k} (i and f see c_{t-1}, o sees c_t).</param>
    /// <param name="batchFirst">[B, T, I] (default) or time-major [T, B, I].</param>
    /// <param name="seed">Seed of the parameter initialisation.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false, bool peephole = false,
        bool batchFirst = true, ulong seed = 0)
        : base(peephole ? RecurrentCell.LstmPeephole : RecurrentCell.Lstm, inputSize, hiddenSize, numLayers,
            bidirectional, batchFirst, seed) { }

    /// <summary>Whether the LSTM has peephole connections.</summary>
    public bool Peephole => Cell == RecurrentCell.LstmPeephole;
}

/// <summary>GRU (PyTorch's nn.GRU).</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Gru<T> : RecurrentModule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a GRU with parameters drawn from U(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="inputSize">Features per input step (I &gt; 0).</param>
    /// <param name="hiddenSize">Hidden units (H &gt; 0).</param>
    /// <param name="numLayers">Stacked layers (L &gt; 0).</param>
    /// <param name="bidirectional">Run each layer in both directions.</param>
    /// <param name="batchFirst">[B, T, I] (default) or time-major [T, B, I].</param>
    /// <param name="seed">Seed of the parameter initialisation.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false, bool batchFirst = true,
        ulong seed = 0)
        : base(RecurrentCell.Gru, inputSize, hiddenSize, numLayers, bidirectional, batchFirst, seed) { }
}

/// <summary>Creates recurrent modules by cell kind.</summary>
public static class RecurrentModules
{
    /// <summary>Creates a module of the given cell kind.</summary>
    /// <param name="cell">The cell kind.</param>
    /// <param name="inputSize">Features per input step (I &gt; 0).</param>
    /// <param name="hiddenSize">Hidden units (H &gt; 0).</param>
    /// <param name="numLayers">Stacked layers (L &gt; 0).</param>
    /// <param name="bidirectional">Run each layer in both directions.</param>
    /// <param name="batchFirst">[B, T, I] (default) or time-major [T, B, I].</param>
    /// <param name="seed">Seed of the parameter initialisation.</param>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the cell kind is unknown.</exception>
    public static RecurrentModule<T> Create<T>(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers = 1,
        bool bidirectional = false, bool batchFirst = true, ulong seed = 0) where T : unmanaged, IFloatingPointIeee754<T> =>
        cell switch
        {
            RecurrentCell.RnnTanh => new Rnn<T>(inputSize, hiddenSize, numLayers, Nonlinearity.Tanh, bidirectional, batchFirst, seed),
            RecurrentCell.RnnRelu => new Rnn<T>(inputSize, hiddenSize, numLayers, Nonlinearity.Relu, bidirectional, batchFirst, seed),
            RecurrentCell.Lstm => new Lstm<T>(inputSize, hiddenSize, numLayers, bidirectional, false, batchFirst, seed),
            RecurrentCell.LstmPeephole => new Lstm<T>(inputSize, hiddenSize, numLayers, bidirectional, true, batchFirst, seed),
            RecurrentCell.Gru => new Gru<T>(inputSize, hiddenSize, numLayers, bidirectional, batchFirst, seed),
            _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, $"cell must be a defined RecurrentCell, got {(int)cell}."),
        };
}

/// <summary>SplitMix64: a small deterministic generator, identical on every platform and runtime version. HPC seeds
/// every initialisation, shuffle and sample with it.</summary>
/// <param name="seed">The seed.</param>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
