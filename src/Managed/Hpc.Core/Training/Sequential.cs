using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hpc.IO;

namespace Hpc.Training;

/// <summary>
/// A chain of layers trained end to end. Input [B, T, F] (or [B, F]); activations are kept in buffers that are
/// reused between calls of the same shape.
/// </summary>
public sealed class Sequential<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Layer<T>> _layers = [];
    private T[][] _acts = [];
    private T[][] _grads = [];
    private Shape[] _shapes = [];
    private T[] _input = [];

    /// <summary>Creates a model from layers.</summary>
    public Sequential(params Layer<T>[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>Appends a layer.</summary>
    public Sequential<T> Add(Layer<T> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>Every trainable tensor, named <c>{index}.{layer type}.{name}</c>.</summary>
    public IReadOnlyList<ParameterTensor<T>> Parameters =>
        _layers.SelectMany((l, i) => l.Parameters.Select(p => p with { Name = $"{i}.{l.Spec["type"]}.{p.Name}" })).ToList();

    /// <summary>Output shape for an input shape.</summary>
    public Shape OutputShape(Shape input)
    {
        foreach (var l in _layers) input = l.OutputShape(input);
        return input;
    }

    /// <summary>Runs the model; the result stays valid until the next call.</summary>
    /// <exception cref="ArgumentException">The input length or shape does not fit the layers.</exception>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> x, Shape shape, bool training = false)
    {
        if (_layers.Count == 0) throw new InvalidOperationException("The model has no layers.");
        if (x.Length != shape.Length) throw new ArgumentException($"x: expected {shape.Length} values for shape {shape}, got {x.Length}.", nameof(x));
        if (_shapes.Length != _layers.Count + 1)
        {
            _shapes = new Shape[_layers.Count + 1];
            _acts = new T[_layers.Count][];
            _grads = new T[_layers.Count + 1][];
            for (int i = 0; i < _acts.Length; i++) _acts[i] = [];
            for (int i = 0; i < _grads.Length; i++) _grads[i] = [];
        }
        if (_input.Length < x.Length) _input = new T[x.Length];
        x.CopyTo(_input);
        _shapes[0] = shape;
        for (int i = 0; i < _layers.Count; i++)
        {
            _shapes[i + 1] = _layers[i].OutputShape(_shapes[i]);
            int n = _shapes[i + 1].Length;
            if (_acts[i].Length < n) _acts[i] = new T[n];
            _layers[i].Forward(In(i), _shapes[i], _acts[i].AsSpan(0, n), training);
        }
        return _acts[^1].AsSpan(0, _shapes[^1].Length);
    }

    private ReadOnlySpan<T> In(int i) => i == 0 ? _input.AsSpan(0, _shapes[0].Length) : _acts[i - 1].AsSpan(0, _shapes[i].Length);

    /// <summary>Backpropagates dL/doutput of the last <see cref="Forward"/> (run with training: true), writing every
    /// layer's parameter gradients.</summary>
    public void Backward(ReadOnlySpan<T> gradOutput)
    {
        if (_shapes.Length == 0) throw new InvalidOperationException("Backward needs a preceding Forward.");
        int last = _layers.Count;
        if (gradOutput.Length != _shapes[last].Length)
            throw new ArgumentException($"gradOutput: expected {_shapes[last].Length} values, got {gradOutput.Length}.", nameof(gradOutput));
        ReadOnlySpan<T> dy = gradOutput;
        for (int i = last - 1; i >= 0; i--)
        {
            int n = _shapes[i].Length;
            if (_grads[i].Length < n) _grads[i] = new T[n];
            Span<T> dx = i == 0 ? default : _grads[i].AsSpan(0, n);
            _layers[i].Backward(In(i), _acts[i].AsSpan(0, _shapes[i + 1].Length), dy, dx, _shapes[i]);
            dy = dx;
        }
    }

    /// <summary>Saves the architecture (safetensors metadata "architecture") and every parameter.</summary>
    public void Save(string path)
    {
        var w = new SafeTensorsWriter();
        var arch = new JsonArray(_layers.Select(l => (JsonNode)l.Spec).ToArray());
        w.Metadata["architecture"] = arch.ToJsonString();
        w.Metadata["element_type"] = typeof(T) == typeof(float) ? "float32" : "float64";
        foreach (var p in Parameters) w.Add<T>(p.Name, [p.Value.Length], p.Value);
        w.Save(path);
    }

    /// <summary>Rebuilds a model saved by <see cref="Save"/>; it predicts exactly as the saved one did.</summary>
    /// <exception cref="InvalidDataException">The file has no architecture or its tensors do not fit it.</exception>
    public static Sequential<T> Load(string path)
    {
        var file = SafeTensors.Read(path);
        if (!file.Metadata.TryGetValue("architecture", out string? archText))
            throw new InvalidDataException($"{path}: no 'architecture' in the safetensors metadata: not a saved Sequential model.");
        var model = new Sequential<T>();
        foreach (var node in JsonNode.Parse(archText)!.AsArray())
        {
            var s = node!.AsObject();
            string type = (string)s["type"]!;
            model.Add(type switch
            {
                "dense" => new Dense<T>((int)s["in"]!, (int)s["out"]!, Enum.Parse<Activation>((string)s["activation"]!)),
                "dropout" => new Dropout<T>((double)s["p"]!),
                "embedding" => new Embedding<T>((int)s["vocabulary"]!, (int)s["dimension"]!),
                "recurrent" => new Recurrent<T>(Enum.Parse<RecurrentCell>((string)s["cell"]!), (int)s["input"]!, (int)s["hidden"]!, (int)s["layers"]!,
                    (bool)s["bidirectional"]!, (bool)s["return_sequences"]!, (double)s["dropout"]!),
                _ => throw new InvalidDataException($"{path}: unknown layer type '{type}'."),
            });
        }
        foreach (var p in model.Parameters)
        {
            if (!file.TryGet(p.Name, out var t))
                throw new InvalidDataException($"{path}: missing tensor '{p.Name}' for the saved architecture.");
            if (t.Count != p.Value.Length)
                throw new InvalidDataException($"{path}: tensor '{p.Name}': expected {p.Value.Length} values, got {t.Count}.");
            t.CopyTo<T>(p.Value);
        }
        return model;
    }

    /// <summary>Disposes the recurrent modules' native workspaces.</summary>
    public void Dispose()
    {
        foreach (var l in _layers)
            if (l is IDisposable d) d.Dispose();
    }
}
