// The C ABI: validates every argument, dispatches to the CPU backend, converts exceptions into statuses.
#include <climits>
#include <initializer_list>
#include <cstring>
#include <string>

#include <cblas.h>

#include "abi_util.h"
#include "checked.h"
#include "cpu/hmm_cpu.h"
#include "cpu/hmm_small_k.h"
#include "cpu/packed_gemm.h"
#include "cpu/rnn_cpu.h"
#include "cpu/thread_team.h"
#include "errors.h"
#include "hpc/hpc.h"
#include "rnn_layout.h"

namespace hpc {
const std::string& last_error() noexcept;
}

using namespace hpc;
using namespace hpc::abi;

struct hpc_rnn {
    RnnDims dims;
    int32_t dtype = 0;
    int64_t param_elements = 0;
    cpu::RnnWorkspace<float> ws32;
    cpu::RnnWorkspace<double> ws64;
    cpu::FrozenParams<float> frozen32;
    cpu::FrozenParams<double> frozen64;
    bool frozen() const { return !frozen32.empty() || !frozen64.empty(); }
};

namespace {

RnnDims to_dims(const hpc_rnn_desc* desc) {
    require(desc != nullptr, "desc is NULL");
    RnnDims d;
    switch (desc->cell) {
        case HPC_CELL_RNN_TANH: d.cell = Cell::RnnTanh; break;
        case HPC_CELL_RNN_RELU: d.cell = Cell::RnnRelu; break;
        case HPC_CELL_LSTM: d.cell = Cell::Lstm; break;
        case HPC_CELL_LSTM_PEEPHOLE: d.cell = Cell::LstmPeephole; break;
        case HPC_CELL_GRU: d.cell = Cell::Gru; break;
        default: throw InvalidArgument("desc->cell: expected HPC_CELL_* (1..5), got " + std::to_string(desc->cell));
    }
    require(desc->dtype == HPC_DTYPE_FLOAT32 || desc->dtype == HPC_DTYPE_FLOAT64, [&] {
        return "desc->dtype: expected HPC_DTYPE_FLOAT32 (1) or HPC_DTYPE_FLOAT64 (2), got " +
               std::to_string(desc->dtype);
    });
    require(desc->input_size > 0,
            [&] { return "desc->input_size: expected > 0, got " + std::to_string(desc->input_size); });
    require(desc->hidden_size > 0,
            [&] { return "desc->hidden_size: expected > 0, got " + std::to_string(desc->hidden_size); });
    require(desc->num_layers > 0,
            [&] { return "desc->num_layers: expected > 0, got " + std::to_string(desc->num_layers); });
    require(desc->bidirectional == 0 || desc->bidirectional == 1,
            [&] { return "desc->bidirectional: expected 0 or 1, got " + std::to_string(desc->bidirectional); });
    require(desc->batch_first == 0 || desc->batch_first == 1,
            [&] { return "desc->batch_first: expected 0 or 1, got " + std::to_string(desc->batch_first); });
    d.input = desc->input_size;
    d.hidden = desc->hidden_size;
    d.layers = desc->num_layers;
    d.directions = desc->bidirectional ? 2 : 1;
    d.batch_first = desc->batch_first != 0;
    // BLAS takes int dimensions: every matrix edge must fit.
    const int64_t gh = checked_mul(d.gates(), d.hidden, "gates*hidden_size");
    require(gh <= INT_MAX && d.input <= INT_MAX && d.directions * d.hidden <= INT_MAX,
            [&] { return "desc: input_size and gates*hidden_size must be <= " + std::to_string(INT_MAX); });
    return d;
}

struct Sizes {
    int64_t x, y, state;
};

Sizes sizes(const RnnDims& d, int64_t batch, int64_t steps) {
    require(batch > 0, [&] { return "batch: expected > 0, got " + std::to_string(batch); });
    require(steps > 0, [&] { return "seq_len: expected > 0, got " + std::to_string(steps); });
    const int64_t tb = checked_mul(batch, steps, "batch*seq_len");
    require(tb <= INT_MAX,
            [&] { return "batch*seq_len: expected <= " + std::to_string(INT_MAX) + ", got " + std::to_string(tb); });
    Sizes s;
    s.x = checked_mul(tb, d.input, "batch*seq_len*input_size");
    s.y = checked_mul(tb, d.directions * d.hidden, "batch*seq_len*D*hidden_size");
    s.state = checked_mul(checked_mul(d.layers * d.directions, batch, "L*D*batch"), d.hidden, "L*D*batch*hidden");
    // Largest workspace block: L*D saved gate blocks of [T*B, G*H].
    checked_mul(checked_mul(s.y, d.layers, "workspace"), d.gates() * 8, "workspace bytes");
    return s;
}

hpc_rnn* require_rnn(hpc_rnn* rnn) {
    require(rnn != nullptr, "rnn is NULL");
    return rnn;
}

}  // namespace

extern "C" {

HPC_API int32_t hpc_version(void) { return HPC_VERSION_MAJOR * 10000 + HPC_VERSION_MINOR * 100 + HPC_VERSION_PATCH; }

HPC_API size_t hpc_last_error(char* buf, size_t len) {
    const std::string& m = last_error();
    if (buf != nullptr && len > 0) {
        const size_t n = m.size() < len - 1 ? m.size() : len - 1;
        std::memcpy(buf, m.data(), n);
        buf[n] = '\0';
    }
    return m.size();
}

HPC_API int32_t hpc_rnn_param_layout(const hpc_rnn_desc* desc, int64_t* num_tensors, int64_t* num_elements) {
    return guarded(__func__, [&] {
        const RnnDims d = to_dims(desc);
        require(num_tensors != nullptr, "num_tensors is NULL");
        require(num_elements != nullptr, "num_elements is NULL");
        const auto t = param_tensors(d);
        *num_tensors = (int64_t)t.size();
        *num_elements = t.back().offset + t.back().size();
    });
}

HPC_API int32_t hpc_rnn_param_info(const hpc_rnn_desc* desc, int64_t index, char* name, size_t name_len,
                                   int64_t* offset, int32_t* rank, int64_t* shape) {
    return guarded(__func__, [&] {
        const RnnDims d = to_dims(desc);
        const auto t = param_tensors(d);
        require(index >= 0 && index < (int64_t)t.size(), [&] {
            return "index: expected 0.." + std::to_string(t.size() - 1) + ", got " + std::to_string(index);
        });
        require(name != nullptr && name_len > 0, "name is NULL or name_len is 0");
        require(offset && rank && shape, "offset, rank and shape must not be NULL");
        const ParamTensor& p = t[(size_t)index];
        require(p.name.size() < name_len, [&] {
            return "name_len: expected > " + std::to_string(p.name.size()) + ", got " + std::to_string(name_len);
        });
        std::memcpy(name, p.name.c_str(), p.name.size() + 1);
        *offset = p.offset;
        *rank = p.rank;
        shape[0] = p.rows;
        shape[1] = p.cols;
    });
}

HPC_API int32_t hpc_rnn_create(const hpc_rnn_desc* desc, hpc_rnn** out) {
    return guarded(__func__, [&] {
        require(out != nullptr, "out is NULL");
        *out = nullptr;
        const RnnDims d = to_dims(desc);
        auto* r = new hpc_rnn();
        r->dims = d;
        r->dtype = desc->dtype;
        r->param_elements = param_count(d);
        *out = r;
    });
}

HPC_API int32_t hpc_rnn_destroy(hpc_rnn* rnn) {
    return guarded(__func__, [&] { delete rnn; });
}

HPC_API int32_t hpc_rnn_set_checkpointing(hpc_rnn* rnn, int64_t every) {
    return guarded(__func__, [&] {
        require(rnn != nullptr, "rnn is NULL");
        require(every >= 0,
                [&] { return "every: expected >= 0 (0 turns checkpointing off), got " + std::to_string(every); });
        rnn->ws32.checkpoint_every = rnn->ws64.checkpoint_every = every;
        rnn->ws32.saved_batch = rnn->ws64.saved_batch = 0;  // saved activations no longer match the mode
    });
}

HPC_API int32_t hpc_rnn_workspace_bytes(const hpc_rnn* rnn, int64_t* bytes) {
    return guarded(__func__, [&] {
        require(rnn != nullptr, "rnn is NULL");
        require(bytes != nullptr, "bytes is NULL");
        *bytes = (int64_t)(rnn->ws32.bytes() + rnn->ws64.bytes() + rnn->frozen32.bytes() + rnn->frozen64.bytes());
    });
}

HPC_API int32_t hpc_rnn_forward(hpc_rnn* rnn, int32_t training, int64_t batch, int64_t seq_len, const void* x,
                                int64_t x_len, const void* params, int64_t params_len, const void* h0,
                                int64_t h0_len, const void* c0, int64_t c0_len, void* y, int64_t y_len, void* hn,
                                int64_t hn_len, void* cn, int64_t cn_len) {
    return guarded(__func__, [&] {
        hpc_rnn* r = require_rnn(rnn);
        const RnnDims& d = r->dims;
        const Sizes s = sizes(d, batch, seq_len);
        const bool lstm = has_cell_state(d.cell);
        check_buffer("x", x, x_len, s.x, false);
        // NULL params: the frozen copy (hpc_rnn_freeze_params).
        const bool live = params != nullptr || !r->frozen();
        if (live) {
            require(params != nullptr, [&] {
                return "params is NULL and no parameters are frozen (hpc_rnn_freeze_params): expected " +
                       std::to_string(r->param_elements) + " elements";
            });
            check_buffer("params", params, params_len, r->param_elements, false);
        } else {
            check_buffer("params", params, params_len, r->param_elements, true);
        }
        check_buffer("h0", h0, h0_len, s.state, true);
        if (!lstm) require(c0 == nullptr && c0_len == 0, "c0: this cell has no cell state; pass NULL and 0");
        check_buffer("c0", c0, c0_len, s.state, true);
        check_buffer("y", y, y_len, s.y, false);
        check_buffer("hn", hn, hn_len, s.state, true);
        if (!lstm) require(cn == nullptr && cn_len == 0, "cn: this cell has no cell state; pass NULL and 0");
        check_buffer("cn", cn, cn_len, s.state, true);
        require_no_overlap({{"x", x, x_len}, {"params", params, params_len}, {"h0", h0, h0_len}, {"c0", c0, c0_len}},
                           {{"y", y, y_len}, {"hn", hn, hn_len}, {"cn", cn, cn_len}}, r->dtype == HPC_DTYPE_FLOAT32 ? 4 : 8);
        if (r->dtype == HPC_DTYPE_FLOAT32)
            cpu::rnn_forward<float>(d, batch, seq_len, training != 0, (const float*)x, (const float*)params,
                                    (const float*)h0, (const float*)c0, (float*)y, (float*)hn, (float*)cn, r->ws32,
                                    live ? nullptr : &r->frozen32);
        else
            cpu::rnn_forward<double>(d, batch, seq_len, training != 0, (const double*)x, (const double*)params,
                                     (const double*)h0, (const double*)c0, (double*)y, (double*)hn, (double*)cn,
                                     r->ws64, live ? nullptr : &r->frozen64);
    });
}

HPC_API int32_t hpc_rnn_freeze_params(hpc_rnn* rnn, const void* params, int64_t params_len) {
    return guarded(__func__, [&] {
        hpc_rnn* r = require_rnn(rnn);
        const bool release = !check_buffer("params", params, params_len, r->param_elements, true);
        // Activations saved by a forward on the old copy no longer match it: backward would mix the two.
        auto discard_if_frozen = [](auto& ws) {
            if (!ws.saved_frozen) return;
            ws.saved_batch = ws.saved_steps = 0;
            ws.saved_frozen = false;
        };
        discard_if_frozen(r->ws32);
        discard_if_frozen(r->ws64);
        if (release) {
            r->frozen32 = {};
            r->frozen64 = {};
            return;
        }
        if (r->dtype == HPC_DTYPE_FLOAT32) cpu::rnn_freeze<float>(r->dims, (const float*)params, params_len, r->frozen32);
        else cpu::rnn_freeze<double>(r->dims, (const double*)params, params_len, r->frozen64);
    });
}

HPC_API int32_t hpc_rnn_backward(hpc_rnn* rnn, const void* x, int64_t x_len, const void* params, int64_t params_len,
                                 const void* dy, int64_t dy_len, const void* dhn, int64_t dhn_len, const void* dcn,
                                 int64_t dcn_len, void* dx, int64_t dx_len, void* dh0, int64_t dh0_len, void* dc0,
                                 int64_t dc0_len, void* dparams, int64_t dparams_len, int32_t accumulate,
                                 void* dh_top, int64_t dh_top_len) {
    return guarded(__func__, [&] {
        hpc_rnn* r = require_rnn(rnn);
        const RnnDims& d = r->dims;
        const bool f32 = r->dtype == HPC_DTYPE_FLOAT32;
        const int64_t batch = f32 ? r->ws32.saved_batch : r->ws64.saved_batch;
        const int64_t steps = f32 ? r->ws32.saved_steps : r->ws64.saved_steps;
        if (batch == 0) throw InvalidState("no saved activations: call hpc_rnn_forward with training = 1 first");
        const Sizes s = sizes(d, batch, steps);
        const bool lstm = has_cell_state(d.cell);
        check_buffer("x", x, x_len, s.x, false);
        const bool saved_frozen = f32 ? r->ws32.saved_frozen : r->ws64.saved_frozen;
        // NULL params: the frozen copy, which the forward must have run on.
        if (params == nullptr && params_len == 0)
            require(saved_frozen, [&] {
                return "params is NULL but the last training forward did not run on frozen parameters: expected " +
                       std::to_string(r->param_elements) + " elements";
            });
        check_buffer("params", params, params_len, r->param_elements, saved_frozen);
        check_buffer("dy", dy, dy_len, s.y, false);
        check_buffer("dhn", dhn, dhn_len, s.state, true);
        if (!lstm) require(dcn == nullptr && dcn_len == 0, "dcn: this cell has no cell state; pass NULL and 0");
        check_buffer("dcn", dcn, dcn_len, s.state, true);
        check_buffer("dx", dx, dx_len, s.x, true);
        check_buffer("dh0", dh0, dh0_len, s.state, true);
        if (!lstm) require(dc0 == nullptr && dc0_len == 0, "dc0: this cell has no cell state; pass NULL and 0");
        check_buffer("dc0", dc0, dc0_len, s.state, true);
        check_buffer("dparams", dparams, dparams_len, r->param_elements, true);
        check_buffer("dh_top", dh_top, dh_top_len, s.y, true);
        require_no_overlap({{"x", x, x_len}, {"params", params, params_len}, {"dy", dy, dy_len}, {"dhn", dhn, dhn_len},
                            {"dcn", dcn, dcn_len}},
                           {{"dx", dx, dx_len}, {"dh0", dh0, dh0_len}, {"dc0", dc0, dc0_len}, {"dparams", dparams, dparams_len},
                            {"dh_top", dh_top, dh_top_len}},
                           f32 ? 4 : 8);
        if (f32)
            cpu::rnn_backward<float>(d, (const float*)x, (const float*)params, (const float*)dy, (const float*)dhn,
                                     (const float*)dcn, (float*)dx, (float*)dh0, (float*)dc0, (float*)dparams,
                                     accumulate != 0, (float*)dh_top, r->ws32, params ? nullptr : &r->frozen32);
        else
            cpu::rnn_backward<double>(d, (const double*)x, (const double*)params, (const double*)dy,
                                      (const double*)dhn, (const double*)dcn, (double*)dx, (double*)dh0,
                                      (double*)dc0, (double*)dparams, accumulate != 0, (double*)dh_top, r->ws64,
                                      params ? nullptr : &r->frozen64);
    });
}

HPC_API size_t hpc_backend_info(char* buf, size_t len) {
    std::string info = std::string(openblas_get_config()) + " core=" + openblas_get_corename() +
                       " threads=" + std::to_string(openblas_get_num_threads()) +
                       "; float32 RNN kernel=" + cpu::packed_gemm_kernel_name() +
                       " team=" + std::to_string(cpu::team_size()) + "; HMM kernels=" + cpu::small_k_kernel_name();
    if (buf != nullptr && len > 0) {
        const size_t n = info.size() < len - 1 ? info.size() : len - 1;
        std::memcpy(buf, info.data(), n);
        buf[n] = '\0';
    }
    return info.size();
}

HPC_API int32_t hpc_set_num_threads(int32_t n) {
    return guarded(__func__, [&] {
        // Only when it changes: OpenBLAS restarts its threads, which then poll for a while beside HPC's own.
        const int blas_threads = n > 0 ? n : openblas_get_num_procs();
        if (blas_threads != openblas_get_num_threads()) openblas_set_num_threads(blas_threads);
        cpu::team_set_size(n);
    });
}

}  // extern "C"
