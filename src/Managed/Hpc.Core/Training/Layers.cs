using System.Numerics;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using Hpc.Interop;

namespace Hpc.Training;

/// <summary>The shape of a batch flowing through a model: [Batch, Time, Features], or [Batch, Features] when Time is 0.</summary>
public readonly record struct Shape(int Batch, int Time, int Features)
{
    /// <summary>Number of rows a per-row layer sees: Batch * Time for sequences, Batch otherwise.</summary>
    public int Rows => Batch * Math.Max(Time, 1);
    /// <summary>Total number of values.</summary>
    public int Length => Rows * Features;
    /// <summary>Whether the shape has a time axis.</summary>
    public bool IsSequence => Time > 0;
    /// <inheritdoc />
    public override string ToString() => IsSequence ? $"[{Batch}, {Time}, {Features}]" : $"[{Batch}, {Features}]";
}

/// <summary>Activation applied by a <see cref="Dense{T}"/> layer.</summary>
public enum Activation
{
    /// <summary>Identity.</summary>
    Linear,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>1 / (1 + exp(-x)).</summary>
    Sigmoid,
    /// <summary>Softmax over the features of each row.</summary>
    Softmax,
}

/// <summary>A layer of a <see cref="Sequential{T}"/> model.</summary>
public abstract class Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The layer's trainable tensors.</summary>
    public abstract IReadOnlyList<ParameterTensor<T>> Parameters { get; }
    /// <summary>The output shape for an input shape.</summary>
    /// <exception cref="ArgumentException">The input shape does not fit the layer.</exception>
    public abstract Shape OutputShape(Shape input);
    /// <summary>Computes y from x; <paramref name="training"/> enables dropout and saves what backward needs.</summary>
    public abstract void Forward(ReadOnlySpan<T> x, Shape shape, Span<T> y, bool training);
    /// <summary>Writes the parameter gradients (overwriting) and dL/dx from dL/dy; x and y are the forward's.</summary>
    public abstract void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, Shape shape);
    /// <summary>The layer's description, from which <see cref="Sequential{T}.Load"/> rebuilds it.</summary>
    public abstract JsonObject Spec { get; }
    /// <summary>A short description for summaries.</summary>
    public override string ToString() => Spec.ToJsonString();
}

/// <summary>A fully connected layer applied to the last axis (per time step for sequences): y = act(x W^T + b).</summary>
public sealed unsafe class Dense<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _w, _b, _dw, _db;
    private T[] _dz = [];

    /// <summary>Creates the layer with Glorot-uniform weights and zero biases.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public Dense(int inFeatures, int outFeatures, Activation activation = Activation.Linear, ulong seed = 0)
    {
        Validate.Positive(inFeatures, nameof(inFeatures));
        Validate.Positive(outFeatures, nameof(outFeatures));
        (InFeatures, OutFeatures, Activation) = (inFeatures, outFeatures, activation);
        _w = GC.AllocateArray<T>(outFeatures * inFeatures, pinned: true);
        _dw = GC.AllocateArray<T>(_w.Length, pinned: true);
        _b = GC.AllocateArray<T>(outFeatures, pinned: true);
        _db = GC.AllocateArray<T>(outFeatures, pinned: true);
        Initializers.GlorotUniform<T>(_w, inFeatures, outFeatures, seed);
        Parameters = [new ParameterTensor<T>("weight", _w, _dw), new ParameterTensor<T>("bias", _b, _db)];
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }
    /// <summary>The activation.</summary>
    public Activation Activation { get; }
    /// <summary>Weights [Out, In] (PyTorch's nn.Linear layout).</summary>
    public Span<T> Weight => _w;
    /// <summary>Biases [Out].</summary>
    public Span<T> Bias => _b;
    /// <inheritdoc />
    public override IReadOnlyList<ParameterTensor<T>> Parameters { get; }
    /// <inheritdoc />
    public override JsonObject Spec => new() { ["type"] = "dense", ["in"] = InFeatures, ["out"] = OutFeatures, ["activation"] = Activation.ToString() };

    /// <inheritdoc />
    public override Shape OutputShape(Shape input)
    {
        if (input.Features != InFeatures)
            throw new ArgumentException($"input: a Dense layer expects {InFeatures} features, got shape {input}.", nameof(input));
        return input with { Features = OutFeatures };
    }

    /// <inheritdoc />
    public override void Forward(ReadOnlySpan<T> x, Shape shape, Span<T> y, bool training)
    {
        int rows = shape.Rows;
        for (int r = 0; r < rows; r++) _b.CopyTo(y.Slice(r * OutFeatures, OutFeatures));
        Gemm(false, true, rows, OutFeatures, InFeatures, x, _w, 1, y);
        Activate(y, rows);
    }

    /// <inheritdoc />
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, Shape shape)
    {
        int rows = shape.Rows, n = rows * OutFeatures;
        if (_dz.Length < n) _dz = GC.AllocateArray<T>(n, pinned: true);
        var dz = _dz.AsSpan(0, n);
        ActivationBackward(y, dy, dz, rows);
        Gemm(true, false, OutFeatures, InFeatures, rows, dz, x, 0, _dw);      // dW = dz^T x
        _db.AsSpan().Clear();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(_db, dz.Slice(r * OutFeatures, OutFeatures), _db);
        if (!dx.IsEmpty) Gemm(false, false, rows, InFeatures, OutFeatures, dz, _w, 0, dx);  // dx = dz W
    }

    private void Activate(Span<T> y, int rows)
    {
        switch (Activation)
        {
            case Activation.Relu: TensorPrimitives.Max(y, T.Zero, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(y, y); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(y, y); break;
            case Activation.Softmax:
                for (int r = 0; r < rows; r++) TensorPrimitives.SoftMax(y.Slice(r * OutFeatures, OutFeatures), y.Slice(r * OutFeatures, OutFeatures));
                break;
        }
    }

    private void ActivationBackward(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dz, int rows)
    {
        int n = rows * OutFeatures;
        switch (Activation)
        {
            case Activation.Linear: dy[..n].CopyTo(dz); break;
            case Activation.Relu: for (int i = 0; i < n; i++) dz[i] = y[i] > T.Zero ? dy[i] : T.Zero; break;
            case Activation.Tanh: for (int i = 0; i < n; i++) dz[i] = dy[i] * (T.One - y[i] * y[i]); break;
            case Activation.Sigmoid: for (int i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (T.One - y[i]); break;
            case Activation.Softmax:
                for (int r = 0; r < rows; r++)
                {
                    var yr = y.Slice(r * OutFeatures, OutFeatures);
                    var dyr = dy.Slice(r * OutFeatures, OutFeatures);
                    T dot = TensorPrimitives.Dot(yr, dyr);
                    for (int j = 0; j < OutFeatures; j++) dz[r * OutFeatures + j] = yr[j] * (dyr[j] - dot);
                }
                break;
        }
    }

    internal static void Gemm(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, double beta, Span<T> c)
    {
        int lda = ta ? m : k, ldb = tb ? k : n;
        fixed (T* pa = a, pb = b, pc = c)
            Status.ThrowIfFailed(NativeMethods.hpc_gemm(Validate.DTypeOf<T>(), ta ? 1 : 0, tb ? 1 : 0, m, n, k, 1.0, pa, a.Length, lda, pb, b.Length, ldb, beta, pc, c.Length, n));
    }
}

/// <summary>Inverted dropout: in training each value is zeroed with probability p and the rest scaled by 1/(1-p), so
/// expectations are kept; at inference it is the identity.</summary>
public sealed class Dropout<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _mask = [];
    private SplitMix64 _rng;

    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is not in [0, 1).</exception>
    public Dropout(double p, ulong seed = 0)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"p must be in [0, 1), got {p}.");
        P = p;
        _rng = new SplitMix64(seed);
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }
    /// <inheritdoc />
    public override IReadOnlyList<ParameterTensor<T>> Parameters => [];
    /// <inheritdoc />
    public override JsonObject Spec => new() { ["type"] = "dropout", ["p"] = P };
    /// <inheritdoc />
    public override Shape OutputShape(Shape input) => input;

    /// <inheritdoc />
    public override void Forward(ReadOnlySpan<T> x, Shape shape, Span<T> y, bool training)
    {
        int n = shape.Length;
        if (!training || P == 0) { x[..n].CopyTo(y); return; }
        if (_mask.Length < n) _mask = new T[n];
        T scale = T.CreateChecked(1 / (1 - P));
        for (int i = 0; i < n; i++) _mask[i] = _rng.NextDouble() < P ? T.Zero : scale;
        TensorPrimitives.Multiply(x[..n], _mask.AsSpan(0, n), y[..n]);
    }

    /// <inheritdoc />
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, Shape shape)
    {
        int n = shape.Length;
        if (P == 0) dy[..n].CopyTo(dx);
        else TensorPrimitives.Multiply(dy[..n], _mask.AsSpan(0, n), dx[..n]);
    }
}

/// <summary>Token embedding: the input carries integer token ids (as values of T) in [0, vocabulary); each becomes a
/// learned vector. Input [B, T, 1] gives [B, T, dim].</summary>
public sealed class Embedding<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _w, _dw;

    /// <summary>Creates the layer with N(0, 1) vectors (PyTorch's nn.Embedding default).</summary>
    public Embedding(int vocabulary, int dimension, ulong seed = 0)
    {
        Validate.Positive(vocabulary, nameof(vocabulary));
        Validate.Positive(dimension, nameof(dimension));
        (Vocabulary, Dimension) = (vocabulary, dimension);
        _w = GC.AllocateArray<T>(vocabulary * dimension, pinned: true);
        _dw = GC.AllocateArray<T>(_w.Length, pinned: true);
        var rng = new SplitMix64(seed);
        for (int i = 0; i < _w.Length; i++) _w[i] = T.CreateChecked(rng.NextGaussian());
        Parameters = [new ParameterTensor<T>("weight", _w, _dw)];
    }

    /// <summary>Number of tokens.</summary>
    public int Vocabulary { get; }
    /// <summary>Vector size.</summary>
    public int Dimension { get; }
    /// <inheritdoc />
    public override IReadOnlyList<ParameterTensor<T>> Parameters { get; }
    /// <inheritdoc />
    public override JsonObject Spec => new() { ["type"] = "embedding", ["vocabulary"] = Vocabulary, ["dimension"] = Dimension };

    /// <inheritdoc />
    public override Shape OutputShape(Shape input)
    {
        if (input.Features != 1) throw new ArgumentException($"input: an Embedding expects one token id per step ([B, T, 1]), got {input}.", nameof(input));
        return input with { Features = Dimension };
    }

    private int Token(T v, int i)
    {
        int id = int.CreateTruncating(v);
        if (T.CreateChecked(id) != v || id < 0 || id >= Vocabulary)
            throw new ArgumentException($"x[{i}]: expected a token id in [0, {Vocabulary}), got {v}.", "x");
        return id;
    }

    /// <inheritdoc />
    public override void Forward(ReadOnlySpan<T> x, Shape shape, Span<T> y, bool training)
    {
        for (int r = 0; r < shape.Rows; r++) _w.AsSpan(Token(x[r], r) * Dimension, Dimension).CopyTo(y.Slice(r * Dimension, Dimension));
    }

    /// <inheritdoc />
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, Shape shape)
    {
        _dw.AsSpan().Clear();
        for (int r = 0; r < shape.Rows; r++)
        {
            var row = _dw.AsSpan(Token(x[r], r) * Dimension, Dimension);
            TensorPrimitives.Add(row, dy.Slice(r * Dimension, Dimension), row);
        }
        dx.Clear();  // token ids have no gradient
    }
}

/// <summary>
/// A recurrent layer in a model: a <see cref="RecurrentModule{T}"/> (RNN, LSTM, peephole LSTM or GRU; stacked,
/// bidirectional) with Keras's <c>return_sequences</c> choice: all steps [B, T, D*H], or the last step [B, D*H]
/// (for a bidirectional layer the forward direction at t = T-1 and the reverse direction at t = 0, as Keras does).
/// With <c>dropout</c> &gt; 0 and several layers, dropout is applied between the stacked layers in training
/// (PyTorch's <c>dropout</c> argument); the layers then run as separate single-layer modules.
/// Steady-state forward and backward calls allocate nothing on the managed heap. Dispose the layer (or the
/// <see cref="Sequential{T}"/> that holds it) to free its modules' native workspaces deterministically.
/// </summary>
public sealed class Recurrent<T> : Layer<T>, IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentModule<T>[] _modules;
    private readonly Dropout<T>[] _drops;
    private T[] _seq = [], _dseq = [], _dcur = [], _din = [];
    private T[][] _between = [], _dropped = [];
    private Shape _lastInput;

    /// <summary>Creates the layer with PyTorch's default initialisation.</summary>
    public Recurrent(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        bool returnSequences = false, double dropout = 0, ulong seed = 0)
    {
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"dropout must be in [0, 1), got {dropout}.");
        (Cell, InputSize, HiddenSize, NumLayers, Bidirectional, ReturnSequences, DropoutRate) = (cell, inputSize, hiddenSize, numLayers, bidirectional, returnSequences, dropout);
        int d = bidirectional ? 2 : 1;
        if (dropout > 0 && numLayers > 1)
        {
            _modules = Enumerable.Range(0, numLayers).Select(l => RecurrentModules.Create<T>(cell, l == 0 ? inputSize : d * hiddenSize, hiddenSize, 1, bidirectional, true, seed + (ulong)l)).ToArray();
            _drops = Enumerable.Range(0, numLayers - 1).Select(l => new Dropout<T>(dropout, seed + 1000 + (ulong)l)).ToArray();
        }
        else
        {
            _modules = [RecurrentModules.Create<T>(cell, inputSize, hiddenSize, numLayers, bidirectional, true, seed)];
            _drops = [];
        }
        Parameters = _modules.Select((m, i) => m.AsParameterTensor(_modules.Length == 1 ? "rnn" : $"rnn.l{i}")).ToArray();
    }

    /// <summary>The cell kind.</summary>
    public RecurrentCell Cell { get; }
    /// <summary>Input features.</summary>
    public int InputSize { get; }
    /// <summary>Hidden units per direction.</summary>
    public int HiddenSize { get; }
    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>Bidirectional layers.</summary>
    public bool Bidirectional { get; }
    /// <summary>All steps (true) or the last step (false).</summary>
    public bool ReturnSequences { get; }
    /// <summary>Dropout between stacked layers in training.</summary>
    public double DropoutRate { get; }
    /// <summary>The underlying modules (one, or one per layer with inter-layer dropout).</summary>
    public IReadOnlyList<RecurrentModule<T>> Modules => _modules;
    /// <summary>Memory-efficient BPTT for every module of the layer (see <see cref="RecurrentModule{T}.CheckpointEvery"/>).</summary>
    public int CheckpointEvery
    {
        get => _modules[0].CheckpointEvery;
        set { foreach (var m in _modules) m.CheckpointEvery = value; }
    }

    /// <summary>
    /// Inference on a frozen copy of every module's parameters (see <see cref="RecurrentModule{T}.FreezeParameters"/>):
    /// for a trained model that only predicts. Later writes to the parameters (an optimizer step, EarlyStopping's
    /// restore) are not seen by inference until this is called again; training always uses the live parameters.
    /// </summary>
    public void FreezeParameters() { foreach (var m in _modules) m.FreezeParameters(); }
    /// <summary>Inference uses the live parameters again (see <see cref="RecurrentModule{T}.UnfreezeParameters"/>).</summary>
    public void UnfreezeParameters() { foreach (var m in _modules) m.UnfreezeParameters(); }

    /// <summary>When true, <see cref="Backward"/> records dL/dh_t of the top layer in <see cref="HiddenGradients"/>.</summary>
    public bool RecordHiddenGradients { get; set; }
    /// <summary>dL/dh_t of the top layer from the last backward, [B, T, D*H] (when recorded).</summary>
    public T[] HiddenGradients { get; private set; } = [];
    /// <summary>Sequence length of the last forward.</summary>
    public int LastSequenceLength => _lastInput.Time;
    /// <inheritdoc />
    public override IReadOnlyList<ParameterTensor<T>> Parameters { get; }
    /// <inheritdoc />
    public override JsonObject Spec => new()
    {
        ["type"] = "recurrent", ["cell"] = Cell.ToString(), ["input"] = InputSize, ["hidden"] = HiddenSize, ["layers"] = NumLayers,
        ["bidirectional"] = Bidirectional, ["return_sequences"] = ReturnSequences, ["dropout"] = DropoutRate,
    };

    private int Out => (Bidirectional ? 2 : 1) * HiddenSize;

    /// <inheritdoc />
    public override Shape OutputShape(Shape input)
    {
        if (!input.IsSequence || input.Features != InputSize)
            throw new ArgumentException($"input: a recurrent layer expects [B, T, {InputSize}], got {input}.", nameof(input));
        return ReturnSequences ? input with { Features = Out } : new Shape(input.Batch, 0, Out);
    }

    private static T[] Ensure(ref T[] a, int n) { if (a.Length < n) a = GC.AllocateArray<T>(n, pinned: true); return a; }

    /// <inheritdoc />
    public override void Forward(ReadOnlySpan<T> x, Shape shape, Span<T> y, bool training)
    {
        int B = shape.Batch, T_ = shape.Time, seqLen = B * T_ * Out;
        _lastInput = shape;
        Span<T> seq = ReturnSequences ? y[..seqLen] : Ensure(ref _seq, seqLen).AsSpan(0, seqLen);
        if (_modules.Length == 1) _modules[0].Forward(x[..shape.Length], B, T_, seq, training: training);
        else
        {
            if (_between.Length != _modules.Length) { _between = new T[_modules.Length][]; _dropped = new T[_modules.Length][]; for (int i = 0; i < _between.Length; i++) { _between[i] = []; _dropped[i] = []; } }
            ReadOnlySpan<T> input = x[..shape.Length];
            for (int l = 0; l < _modules.Length; l++)
            {
                Span<T> o = l == _modules.Length - 1 ? seq : Ensure(ref _between[l], seqLen).AsSpan(0, seqLen);
                _modules[l].Forward(input, B, T_, o, training: training);
                if (l < _drops.Length)
                {
                    var dropped = Ensure(ref _dropped[l], seqLen).AsSpan(0, seqLen);
                    _drops[l].Forward(o, shape with { Features = Out }, dropped, training);
                    input = dropped;
                }
            }
        }
        if (!ReturnSequences) GatherLast(seq, y, B, T_);
    }

    private void GatherLast(ReadOnlySpan<T> seq, Span<T> y, int B, int T_)
    {
        int H = HiddenSize, O = Out;
        for (int b = 0; b < B; b++)
        {
            seq.Slice((b * T_ + T_ - 1) * O, H).CopyTo(y.Slice(b * O, H));
            if (Bidirectional) seq.Slice(b * T_ * O + H, H).CopyTo(y.Slice(b * O + H, H));
        }
    }

    /// <inheritdoc />
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, Shape shape)
    {
        int B = shape.Batch, T_ = shape.Time, O = Out, H = HiddenSize, seqLen = B * T_ * O;
        ReadOnlySpan<T> dseq;
        if (ReturnSequences) dseq = dy[..seqLen];
        else
        {
            var d = Ensure(ref _dseq, seqLen).AsSpan(0, seqLen);
            d.Clear();
            for (int b = 0; b < B; b++)
            {
                dy.Slice(b * O, H).CopyTo(d.Slice((b * T_ + T_ - 1) * O, H));
                if (Bidirectional) dy.Slice(b * O + H, H).CopyTo(d.Slice(b * T_ * O + H, H));
            }
            dseq = d;
        }
        Span<T> record = default;
        if (RecordHiddenGradients)
        {
            if (HiddenGradients.Length != seqLen) HiddenGradients = new T[seqLen];
            record = HiddenGradients;
        }
        if (_modules.Length == 1)
        {
            _modules[0].Backward(x[..shape.Length], dseq, dx.IsEmpty ? default : dx[..shape.Length], gradTopHidden: record);
            return;
        }
        // Top-down through the stack: layer l's input is the (dropped) output of layer l - 1. dcur holds the gradient
        // of layer l's output; once the module has read it, the dropout's backward overwrites it with the gradient of
        // layer l - 1's output (from din, the gradient of layer l's input).
        var dcur = Ensure(ref _dcur, seqLen).AsSpan(0, seqLen);
        dseq.CopyTo(dcur);
        for (int l = _modules.Length - 1; l >= 0; l--)
        {
            ReadOnlySpan<T> input = l == 0 ? x[..shape.Length] : _dropped[l - 1].AsSpan(0, seqLen);
            Span<T> din = l == 0 ? (dx.IsEmpty ? default : dx[..shape.Length]) : Ensure(ref _din, seqLen).AsSpan(0, seqLen);
            _modules[l].Backward(input, dcur, din, gradTopHidden: l == _modules.Length - 1 ? record : default);
            if (l > 0) _drops[l - 1].Backward(default, default, din, dcur, shape with { Features = O });
        }
    }

    /// <summary>Frees the modules' native workspaces; the layer cannot run afterwards.</summary>
    public void Dispose()
    {
        foreach (var m in _modules) m.Dispose();
    }
}
