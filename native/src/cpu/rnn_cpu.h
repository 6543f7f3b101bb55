// CPU kernels for stacked, bidirectional recurrent networks (RNN tanh/relu, LSTM, peephole LSTM, GRU).
// Plain functions on raw pointers: no validation here (the ABI layer does it), no knowledge of the ABI.
//
// Structure (Appleyard et al. 2016; cuDNN):
//  - per layer and direction, the input projection of all T*B rows is one GEMM (inference: of a chunk of steps, or
//    of each step's rows, see rnn_cpu.cpp);
//  - each step does one recurrent GEMM for all gates and one fused pointwise pass;
//  - backward carries only dh (and dc) step by step; dW_ih, dW_hh and dx are large GEMMs over all steps afterwards.
// Internally everything is time-major: row r = t*B + b (inference reads a batch-first x step by step and writes a
// batch-first y in place; training copies both).
#pragma once

#include <cstdint>
#include <vector>

#include "../rnn_layout.h"

namespace hpc::cpu {

// Reusable buffers; they grow to the largest shape seen and are then reused (no allocation in steady state).
template <typename T>
struct RnnWorkspace {
    std::vector<T> x_tm;     // [T*B, I] time-major copy of a batch-first input
    std::vector<T> outs;     // training: L x [T*B, D*H]; inference: 2 x [T*B, D*H] (ping-pong)
    std::vector<T> gates;    // training: L*D x [T*B, G*H] saved activations; inference: 1 x [T*B, G*H];
                             // checkpointed training: 1 x [T*B, G*H], the input projection, reused per layer-direction
    std::vector<T> aux;      // likewise [.., H]: LSTM c_t, GRU W_hn h + b_hn
    std::vector<T> init;     // [2, L*D, B, H]: h0 and c0 copies (zeros when not given)
    std::vector<T> step;     // [B, G*H] recurrent projection of one step
    std::vector<T> d_out;    // backward: 2 x [T*B, D*H] gradient w.r.t. a layer's output (ping-pong)
    std::vector<T> d_in;     // backward: [T*B, I] gradient w.r.t. layer 0's input (time-major)
    std::vector<T> d_top;    // backward: [T*B, D*H] time-major copy of a batch-first dy
    std::vector<T> d_record; // backward: [T*B, D*H] time-major dL/dh_t of the last layer (when asked for)
    std::vector<T> d_gx;     // backward: [T*B, G*H] gradients of the input-projected gates
    std::vector<T> d_gh;     // backward: [T*B, G*H] gradients of the recurrent-projected gates (GRU only)
    std::vector<T> d_state;  // backward: [4, B, H]: dh, dh (next), dc, peephole accumulators [3H]
    std::vector<T> ckpt;     // checkpointed training: [L*D, segments, B, H] cell state at each segment start (LSTM)
    std::vector<T> seg_aux;  // checkpointed backward: [k*B, H] aux activations of the segment being recomputed
    std::vector<T> packed;      // float32: W_hh^T of the layer-direction being run, packed for the step kernel
    std::vector<T> packed_bwd;  // float32 backward: W_hh packed likewise (dh_{t-1} = dG_t W_hh)
    std::vector<T> pack_big;    // float32: the B operand of the layer's large products, packed
    std::vector<T> bias;        // [G*H] the input projection's bias: b_ih + b_hh (GRU: b_in alone for n)
    int64_t saved_batch = 0, saved_steps = 0;  // shape of the saved training forward (0 = none)
    int64_t checkpoint_every = 0;              // > 0: training keeps states only every k steps and recomputes in backward
    int64_t saved_checkpoint = 0;              // the k the saved forward used (0 = everything saved)
    bool saved_frozen = false;                 // the saved forward ran on the frozen parameters

    size_t bytes() const;
};

// A copy of the parameters for calls with fixed weights (hpc_rnn_freeze_params): float32 also keeps W_ih and W_hh of
// every layer-direction packed for the product kernels, so that a forward call packs nothing (at batch 16, T 25, H
// 512 the two packs took 10 % of an LSTM's inference call), and, from the first backward on these parameters, W_hh
// packed for the backward steps (hh_bwd; 7 % of an LSTM B16 T25 H1024 training call went to the three packs).
// Empty when nothing is frozen.
template <typename T>
struct FrozenParams {
    std::vector<T> values;                // the parameters, flat like params
    std::vector<std::vector<T>> storage;  // float32: [L*D][2] packed W_ih^T and W_hh^T
    std::vector<const T*> ih, hh;         // float32: where each layer-direction's packs start (64-byte aligned)
    std::vector<std::vector<T>> storage_bwd;  // float32, after the first backward: [L*D] W_hh packed for dG W_hh
    std::vector<const T*> hh_bwd;
    bool empty() const { return values.empty(); }
    size_t bytes() const;
};
template <typename T>
void rnn_freeze(const RnnDims& dims, const T* params, int64_t count, FrozenParams<T>& out);

// x: input in the dims' layout; params: flat PyTorch-ordered buffer; h0/c0/hn/cn: [L*D,B,H] or nullptr.
// `frozen` (or nullptr): use its parameters and packs instead of params; a training forward records that it did.
template <typename T>
void rnn_forward(const RnnDims& dims, int64_t batch, int64_t steps, bool training, const T* x, const T* params,
                 const T* h0, const T* c0, T* y, T* hn, T* cn, RnnWorkspace<T>& ws,
                 const FrozenParams<T>* frozen = nullptr);

// Requires a preceding training forward with the same shapes, x and params. Any output may be nullptr except dy.
// dh_top receives dL/dh_t of the last layer at every step (recurrence included), laid out like y. `frozen` (or
// nullptr; the forward ran on it): its parameters instead of params, and its packs; the first such call adds the
// backward packs of W_hh to it (built aside and swapped in, so a failed allocation leaves it as it was).
template <typename T>
void rnn_backward(const RnnDims& dims, const T* x, const T* params, const T* dy, const T* dhn, const T* dcn, T* dx,
                  T* dh0, T* dc0, T* dparams, bool accumulate, T* dh_top, RnnWorkspace<T>& ws,
                  FrozenParams<T>* frozen = nullptr);

// Test hook: the most bytes of gates an inference chunk of steps takes (see inference_chunk_steps); < 0 restores the
// default (64 MiB). Exported from the library (whose other C++ symbols are hidden) for the native tests, which reach
// the recurrent kernels through the C ABI only.
__attribute__((visibility("default"))) void rnn_inference_chunk_bytes(double bytes);

}  // namespace hpc::cpu
