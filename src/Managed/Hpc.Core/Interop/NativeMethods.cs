using System.Runtime.InteropServices;

namespace Hpc.Interop;

/// <summary>Mirror of <c>hpc_rnn_desc</c> in native/include/hpc/hpc.h.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RnnDesc
{
    public int Cell;
    public int DType;
    public long InputSize;
    public long HiddenSize;
    public long NumLayers;
    public int Bidirectional;
    public int BatchFirst;
}

/// <summary>The C ABI, one to one. Only pointers and unmanaged types; names as in C.</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "hpc_native";

    internal const int DTypeFloat32 = 1;
    internal const int DTypeFloat64 = 2;

    [LibraryImport(Library)]
    internal static partial int hpc_version();

    [LibraryImport(Library)]
    internal static partial nuint hpc_last_error(byte* buf, nuint len);

    [LibraryImport(Library)]
    internal static partial int hpc_set_num_threads(int n);

    [LibraryImport(Library)]
    internal static partial nuint hpc_backend_info(byte* buf, nuint len);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_param_layout(RnnDesc* desc, long* numTensors, long* numElements);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_param_info(RnnDesc* desc, long index, byte* name, nuint nameLen,
        long* offset, int* rank, long* shape);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_create(RnnDesc* desc, nint* rnn);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_destroy(nint rnn);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_workspace_bytes(nint rnn, long* bytes);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_set_checkpointing(nint rnn, long every);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_freeze_params(nint rnn, void* parameters, long parametersLen);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_forward(nint rnn, int training, long batch, long seqLen,
        void* x, long xLen, void* parameters, long parametersLen, void* h0, long h0Len, void* c0, long c0Len,
        void* y, long yLen, void* hn, long hnLen, void* cn, long cnLen);

    [LibraryImport(Library)]
    internal static partial int hpc_rnn_backward(nint rnn, void* x, long xLen, void* parameters, long parametersLen,
        void* dy, long dyLen, void* dhn, long dhnLen, void* dcn, long dcnLen, void* dx, long dxLen,
        void* dh0, long dh0Len, void* dc0, long dc0Len, void* dparameters, long dparametersLen, int accumulate,
        void* dhTop, long dhTopLen);

    /// <summary>The calling thread's last native error message.</summary>
    internal static string LastError()
    {
        Span<byte> buf = stackalloc byte[1024];
        fixed (byte* p = buf)
        {
            nuint n = hpc_last_error(p, (nuint)buf.Length);
            int len = (int)Math.Min(n, (nuint)(buf.Length - 1));
            return System.Text.Encoding.UTF8.GetString(buf[..len]);
        }
    }
}

/// <summary>The HMM part of the C ABI.</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial int hpc_hmm_forward_backward(int mode, long nStates, long nSeqs, long* lengths, long nSamples,
        double* logEmission, long logEmissionLen, double* startprob, long startprobLen, double* transmat, long transmatLen,
        double* seqLoglik, long seqLoglikLen, double* posteriors, long posteriorsLen, double* xiSum, long xiSumLen,
        double* startSum, long startSumLen, double* seqLoglikBackward, long seqLoglikBackwardLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_gaussian_viterbi_fuses(int covarianceType, long nStates, long nSamples);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_gaussian_viterbi_with_scratch(int covarianceType, long nStates, long nFeatures, long nSeqs,
        long* lengths, long nSamples, double* x, long xLen, double* means, long meansLen, double* covars, long covarsLen,
        double minCovar, double* startprob, long startprobLen, double* transmat, long transmatLen, long* path,
        long pathLen, double* seqLogprob, long seqLogprobLen, double* scratch, long scratchLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_gaussian_loglik(int covarianceType, long nStates, long nFeatures, long nSamples,
        double* x, long xLen, double* means, long meansLen, double* covars, long covarsLen, double minCovar,
        double* output, long outputLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_gaussian_e_step(int mode, int covarianceType, long nStates, long nFeatures,
        long nSeqs, long* lengths, long nSamples, double* x, long xLen, double* means, long meansLen, double* covars,
        long covarsLen, double* startprob, long startprobLen, double* transmat, long transmatLen, double* seqLoglik,
        long seqLoglikLen, double* xiSum, long xiSumLen, double* startSum, long startSumLen, double* postSum,
        long postSumLen, double* obs, long obsLen, double* obs2, long obs2Len);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_categorical_viterbi(long nStates, long nSymbols, long nSeqs, long* lengths,
        long nSamples, long* symbols, long symbolsLen, double* emissionprob, long emissionprobLen, double* startprob,
        long startprobLen, double* transmat, long transmatLen, long* path, long pathLen, double* seqLogprob,
        long seqLogprobLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_categorical_loglik(long nStates, long nSymbols, long nSamples, long* symbols,
        long symbolsLen, double* emissionprob, long emissionprobLen, double* output, long outputLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_gaussian_stats(long nStates, long nFeatures, long nSamples, double* x, long xLen,
        double* posteriors, long posteriorsLen, double* postSum, long postSumLen, double* obs, long obsLen,
        double* obs2, long obs2Len, double* obsOuter, long obsOuterLen);

    [LibraryImport(Library)]
    internal static partial int hpc_hmm_categorical_stats(long nStates, long nSymbols, long nSamples, long* symbols,
        long symbolsLen, double* posteriors, long posteriorsLen, double* counts, long countsLen);
}

/// <summary>Mirror of <c>hpc_optim_hparams</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct OptimHParams
{
    public double Lr;
    public double Momentum;
    public double Dampening;
    public int Nesterov;
    public double WeightDecay;
    public double L1;
    public double Alpha;
    public double Beta1;
    public double Beta2;
    public double Eps;
    public double LrDecay;
    public double InitialAccumulatorValue;
}

/// <summary>The training part of the C ABI.</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial int hpc_optim_step(int algorithm, int dtype, OptimHParams* hparams, long step, long nTensors,
        nint* parameters, nint* grads, nint* state1, nint* state2, long* lengths);

    [LibraryImport(Library)]
    internal static partial int hpc_clip_grad_norm(int dtype, long nTensors, nint* grads, long* lengths, double maxNorm,
        double normType, double* totalNorm);

    [LibraryImport(Library)]
    internal static partial int hpc_clip_grad_value(int dtype, long nTensors, nint* grads, long* lengths, double clipValue);

    [LibraryImport(Library)]
    internal static partial int hpc_gemm(int dtype, int transA, int transB, long m, long n, long k, double alpha,
        void* a, long aLen, long lda, void* b, long bLen, long ldb, double beta, void* c, long cLen, long ldc);

    [LibraryImport(Library)]
    internal static partial int hpc_gemm_blas(int dtype, int transA, int transB, long m, long n, long k, double alpha,
        void* a, long aLen, long lda, void* b, long bLen, long ldb, double beta, void* c, long cLen, long ldc);
}
