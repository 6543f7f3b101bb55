using System.CommandLine;
using System.Numerics;
using Hpc.IO;

namespace Hpc.Cli;

/// <summary><c>hpc rnn forward</c>: runs a PyTorch-layout recurrent network from safetensors on .npy input.</summary>
internal static class RnnCommands
{
    private static readonly Dictionary<string, RecurrentCell> Cells = new()
    {
        ["lstm"] = RecurrentCell.Lstm, ["lstm_peephole"] = RecurrentCell.LstmPeephole, ["gru"] = RecurrentCell.Gru,
        ["rnn_tanh"] = RecurrentCell.RnnTanh, ["rnn_relu"] = RecurrentCell.RnnRelu,
    };

    internal static Command Build(TextWriter stdout)
    {
        var cell = new Option<string>("--cell") { Description = "lstm | gru | rnn_tanh | rnn_relu | lstm_peephole", Required = true };
        cell.AcceptOnlyFromAmong([.. Cells.Keys]);
        var layers = new Option<int>("--layers") { Description = "Number of stacked layers", DefaultValueFactory = _ => 1 };
        var bidirectional = new Option<bool>("--bidirectional") { Description = "Bidirectional layers" };
        var timeMajor = new Option<bool>("--time-major") { Description = "Input is [T, B, I] (PyTorch's default) instead of [B, T, I]" };
        var weights = new Option<string>("--weights") { Description = "safetensors file with PyTorch's parameter names", Required = true };
        var input = new Option<string>("--input") { Description = ".npy input [B, T, I] or [T, I], float32 or float64", Required = true };
        var h0 = new Option<string?>("--h0") { Description = ".npy initial hidden state [L*D, B, H]" };
        var c0 = new Option<string?>("--c0") { Description = ".npy initial cell state [L*D, B, H] (LSTM)" };
        var output = new Option<string>("--output") { Description = ".npy output [B, T, D*H]", Required = true };
        var hn = new Option<string?>("--hn") { Description = ".npy final hidden state [L*D, B, H]" };
        var cn = new Option<string?>("--cn") { Description = ".npy final cell state [L*D, B, H] (LSTM)" };

        var forward = new Command("forward", "Run a recurrent network forward in the input's element type.")
        {
            cell, layers, bidirectional, timeMajor, weights, input, h0, c0, output, hn, cn,
        };
        forward.SetAction(r =>
        {
            var args = new ForwardArgs(Cells[r.GetValue(cell)!], r.GetValue(layers), r.GetValue(bidirectional),
                r.GetValue(timeMajor), r.GetValue(weights)!, r.GetValue(input)!, r.GetValue(h0), r.GetValue(c0),
                r.GetValue(output)!, r.GetValue(hn), r.GetValue(cn));
            return Forward(args, stdout);
        });
        var rnn = new Command("rnn", "Recurrent networks (PyTorch weight layout).");
        rnn.Subcommands.Add(forward);
        return rnn;
    }

    internal sealed record ForwardArgs(RecurrentCell Cell, int Layers, bool Bidirectional, bool TimeMajor,
        string Weights, string Input, string? H0, string? C0, string Output, string? Hn, string? Cn);

    internal static int Forward(ForwardArgs a, TextWriter stdout)
    {
        if (a.Layers <= 0) throw new CliException($"--layers: expected > 0, got {a.Layers}.");
        bool lstm = a.Cell is RecurrentCell.Lstm or RecurrentCell.LstmPeephole;
        if (!lstm && (a.C0 != null || a.Cn != null))
            throw new CliException($"--c0/--cn: a {a.Cell} has no cell state.");
        var w = SafeTensors.Read(a.Weights);
        int gates = a.Cell switch { RecurrentCell.Lstm or RecurrentCell.LstmPeephole => 4, RecurrentCell.Gru => 3, _ => 1 };
        if (!w.TryGet("weight_ih_l0", out var wih) || !w.TryGet("weight_hh_l0", out var whh))
            throw new CliException($"{a.Weights}: missing tensor 'weight_ih_l0' or 'weight_hh_l0': not a PyTorch recurrent state_dict.");
        if (whh.Shape.Count != 2 || whh.Shape[0] != gates * whh.Shape[1])
            throw new CliException($"{a.Weights}: weight_hh_l0: expected shape [{gates}*H, H] for {a.Cell}, got {HpcCli.Shape(whh.Shape)}.");
        int hidden = (int)whh.Shape[1];
        if (wih.Shape.Count != 2 || wih.Shape[0] != gates * hidden)
            throw new CliException($"{a.Weights}: weight_ih_l0: expected shape [{gates * hidden}, I], got {HpcCli.Shape(wih.Shape)}.");
        int inputSize = (int)wih.Shape[1];

        var x = Npy.Read(a.Input);
        return x.DType switch
        {
            NpyDType.Float32 => Run<float>(a, w, x, inputSize, hidden, stdout),
            NpyDType.Float64 => Run<double>(a, w, x, inputSize, hidden, stdout),
            _ => throw new CliException($"{a.Input}: input: expected float32 or float64, got {x.DType}."),
        };
    }

    private static int Run<T>(ForwardArgs a, SafeTensors w, NpyArray x, int inputSize, int hidden, TextWriter stdout)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = a.Bidirectional ? 2 : 1;
        bool unbatched = x.Shape.Count == 2;
        if ((x.Shape.Count != 3 && !unbatched) || x.Shape[^1] != inputSize)
            throw new CliException($"{a.Input}: input: expected shape {(a.TimeMajor ? "[T, B, " : "[B, T, ")}{inputSize}] or [T, {inputSize}], got {HpcCli.Shape(x.Shape)}.");
        int batch = unbatched ? 1 : (int)(a.TimeMajor ? x.Shape[1] : x.Shape[0]);
        int seq = (int)(unbatched ? x.Shape[0] : a.TimeMajor ? x.Shape[0] : x.Shape[1]);
        if (batch <= 0 || seq <= 0) throw new CliException($"{a.Input}: input: expected a non-empty batch and sequence, got {HpcCli.Shape(x.Shape)}.");
        long[] stateShape = unbatched ? [a.Layers * d, hidden] : [a.Layers * d, batch, hidden];

        using var module = RecurrentModules.Create<T>(a.Cell, inputSize, hidden, a.Layers, a.Bidirectional, batchFirst: !a.TimeMajor);
        module.LoadParameters(w);
        T[] h0 = ReadState<T>(a.H0, "h0", stateShape);
        T[] c0 = ReadState<T>(a.C0, "c0", stateShape);
        T[] input = typeof(T) == typeof(float) ? (T[])(object)x.ToSingleArray() : (T[])(object)x.ToDoubleArray();
        var y = new T[(long)batch * seq * d * hidden];
        var hn = new T[a.Layers * d * batch * hidden];
        var cn = module.HasCellState ? new T[hn.Length] : [];
        module.Forward(input, batch, seq, y, h0, c0, hn, cn);
        long[] yShape = unbatched ? [seq, d * hidden] : a.TimeMajor ? [seq, batch, d * hidden] : [batch, seq, d * hidden];
        Npy.Write<T>(a.Output, y, yShape);
        if (a.Hn != null) Npy.Write<T>(a.Hn, hn, stateShape);
        if (a.Cn != null) Npy.Write<T>(a.Cn, cn, stateShape);
        stdout.WriteLine($"rnn forward: {a.Cell}, {a.Layers} layer(s){(a.Bidirectional ? ", bidirectional" : "")}, " +
                         $"input {inputSize}, hidden {hidden}, {(typeof(T) == typeof(float) ? "float32" : "float64")}: " +
                         $"{a.Input} {HpcCli.Shape(x.Shape)} -> {a.Output} {HpcCli.Shape(yShape)}");
        return 0;
    }

    private static T[] ReadState<T>(string? path, string name, long[] expected) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (path == null) return [];
        var s = Npy.Read(path);
        if (!s.Shape.SequenceEqual(expected))
            throw new CliException($"{path}: {name}: expected shape {HpcCli.Shape(expected)}, got {HpcCli.Shape(s.Shape)}.");
        if (s.DType is not (NpyDType.Float32 or NpyDType.Float64))
            throw new CliException($"{path}: {name}: expected float32 or float64, got {s.DType}.");
        return typeof(T) == typeof(float) ? (T[])(object)s.ToSingleArray() : (T[])(object)s.ToDoubleArray();
    }
}
