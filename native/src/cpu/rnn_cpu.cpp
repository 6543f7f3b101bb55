#include "rnn_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "blas.h"

namespace hpc::cpu {
namespace {

template <typename T>
inline T sigmoid(T v) {
    return T(1) / (T(1) + std::exp(-v));
}

// Grows (never shrinks) a buffer so that steady-state calls do not allocate.
template <typename T>
inline T* ensure(std::vector<T>& v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
    return v.data();
}

// [B,T,C] <-> [T,B,C]
template <typename T>
void swap_batch_time(const T* src, T* dst, int64_t outer, int64_t inner, int64_t c) {
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t b = 0; b < inner; ++b) std::memcpy(dst + (b * outer + a) * c, src + (a * inner + b) * c, sizeof(T) * c);
}

struct Geometry {
    int64_t B, T, I, H, G, D, L;
    int64_t TB() const { return T * B; }
    int64_t GH() const { return G * H; }
    int64_t DH() const { return D * H; }
    int64_t BH() const { return B * H; }
};

Geometry geometry(const RnnDims& d, int64_t batch, int64_t steps) {
    return {batch, steps, d.input, d.hidden, d.gates(), d.directions, d.layers};
}

// One direction of one layer, forward in time order (direction 0) or reverse (direction 1).
// x_in [TB, in], gx [TB, GH] (becomes the saved activations), aux [TB, H], out [TB, DH] (columns d*H..),
// h0/c0 [B, H].
template <typename T>
void forward_direction(Cell cell, const Geometry& g, int dir, const T* x_in, int64_t in, const T* p,
                       const LayerParams& o, T* gx, T* aux, T* out, const T* h0, const T* c0, T* step, T* hn, T* cn) {
    const int64_t B = g.B, T_ = g.T, H = g.H, GH = g.GH(), DH = g.DH(), TB = g.TB();
    const T* w_ih = p + o.w_ih;
    const T* w_hh = p + o.w_hh;
    const T* b_ih = p + o.b_ih;
    const T* b_hh = p + o.b_hh;
    const bool gru = cell == Cell::Gru;

    // Gx = X W_ih^T + b_ih + b_hh (GRU keeps b_hn apart: it is scaled by r).
    for (int64_t r = 0; r < TB; ++r) {
        T* row = gx + r * GH;
        for (int64_t j = 0; j < GH; ++j) row[j] = b_ih[j] + ((gru && j >= 2 * H) ? T(0) : b_hh[j]);
    }
    gemm(false, true, TB, GH, in, T(1), x_in, in, w_ih, in, T(1), gx, GH);

    const T* h_prev = h0;
    int64_t ld_h = H;
    const T* c_prev = c0;
    const T* p_i = o.p_i >= 0 ? p + o.p_i : nullptr;
    const T* p_f = o.p_f >= 0 ? p + o.p_f : nullptr;
    const T* p_o = o.p_o >= 0 ? p + o.p_o : nullptr;
    for (int64_t s = 0; s < T_; ++s) {
        const int64_t t = dir == 0 ? s : T_ - 1 - s;
        gemm(false, true, B, GH, H, T(1), h_prev, ld_h, w_hh, H, T(0), step, GH);
        T* gt = gx + t * B * GH;
        T* ht = out + t * B * DH + dir * H;
        T* at = aux + t * B * H;
        for (int64_t b = 0; b < B; ++b) {
            T* gr = gt + b * GH;
            const T* sr = step + b * GH;
            T* hr = ht + b * DH;
            switch (cell) {
                case Cell::RnnTanh:
                    for (int64_t j = 0; j < H; ++j) hr[j] = std::tanh(gr[j] + sr[j]);
                    break;
                case Cell::RnnRelu:
                    for (int64_t j = 0; j < H; ++j) hr[j] = std::max(gr[j] + sr[j], T(0));
                    break;
                case Cell::Lstm:
                case Cell::LstmPeephole: {
                    const T* cp = c_prev + b * H;
                    T* cr = at + b * H;
                    for (int64_t j = 0; j < H; ++j) {
                        T pi = gr[j] + sr[j], pf = gr[H + j] + sr[H + j];
                        if (p_i) {
                            pi += p_i[j] * cp[j];
                            pf += p_f[j] * cp[j];
                        }
                        const T i = sigmoid(pi), f = sigmoid(pf), gg = std::tanh(gr[2 * H + j] + sr[2 * H + j]);
                        const T c = f * cp[j] + i * gg;
                        T po = gr[3 * H + j] + sr[3 * H + j];
                        if (p_o) po += p_o[j] * c;
                        const T og = sigmoid(po);
                        gr[j] = i;
                        gr[H + j] = f;
                        gr[2 * H + j] = gg;
                        gr[3 * H + j] = og;
                        cr[j] = c;
                        hr[j] = og * std::tanh(c);
                    }
                    break;
                }
                case Cell::Gru: {
                    const T* hp = h_prev + b * ld_h;
                    T* ar = at + b * H;
                    for (int64_t j = 0; j < H; ++j) {
                        const T r = sigmoid(gr[j] + sr[j]);
                        const T z = sigmoid(gr[H + j] + sr[H + j]);
                        const T hl = sr[2 * H + j] + b_hh[2 * H + j];
                        const T n = std::tanh(gr[2 * H + j] + r * hl);
                        gr[j] = r;
                        gr[H + j] = z;
                        gr[2 * H + j] = n;
                        ar[j] = hl;
                        hr[j] = (T(1) - z) * n + z * hp[j];
                    }
                    break;
                }
            }
        }
        h_prev = ht;
        ld_h = DH;
        c_prev = at;
    }
    if (hn)
        for (int64_t b = 0; b < B; ++b) std::memcpy(hn + b * H, h_prev + b * DH, sizeof(T) * H);
    if (cn && has_cell_state(cell)) std::memcpy(cn, c_prev, sizeof(T) * B * H);
}

// Backward of one direction of one layer. d_out [TB, DH] is the gradient w.r.t. this layer's output
// (columns d*H..). Writes (or, for dir 1 / accumulate, adds) dX [TB, in], the parameter gradients, and dh0/dc0.
template <typename T>
void backward_direction(Cell cell, const Geometry& g, int dir, const T* x_in, int64_t in, const T* p,
                        const LayerParams& o, const T* gx, const T* aux, const T* out, const T* h0, const T* c0,
                        const T* d_out, const T* dhn, const T* dcn, T* d_x, bool add_dx, T* dh0, T* dc0, T* dp,
                        bool accumulate, T* d_gx, T* d_gh, T* dh, T* dh_next, T* dc, T* d_peep, T* record) {
    const int64_t B = g.B, T_ = g.T, H = g.H, GH = g.GH(), DH = g.DH(), TB = g.TB(), BH = g.BH();
    const bool gru = cell == Cell::Gru;
    const bool lstm = has_cell_state(cell);
    const T* w_ih = p + o.w_ih;
    const T* w_hh = p + o.w_hh;
    const T* p_i = o.p_i >= 0 ? p + o.p_i : nullptr;
    const T* p_f = o.p_f >= 0 ? p + o.p_f : nullptr;
    const T* p_o = o.p_o >= 0 ? p + o.p_o : nullptr;
    if (!gru) d_gh = d_gx;  // the recurrent and input projections see the same pre-activation gradient

    if (dhn) std::memcpy(dh, dhn, sizeof(T) * BH); else std::fill(dh, dh + BH, T(0));
    if (lstm) {
        if (dcn) std::memcpy(dc, dcn, sizeof(T) * BH); else std::fill(dc, dc + BH, T(0));
    }
    if (p_i) std::fill(d_peep, d_peep + 3 * H, T(0));

    for (int64_t s = 0; s < T_; ++s) {
        const int64_t t = dir == 0 ? T_ - 1 - s : s;
        const int64_t tp = dir == 0 ? t - 1 : t + 1;  // the step that produced h_{t-1}
        const bool first = tp < 0 || tp >= T_;
        const T* h_prev = first ? h0 : out + tp * B * DH + dir * H;
        const int64_t ld_h = first ? H : DH;
        const T* c_prev = first ? c0 : aux + tp * BH;
        const T* gt = gx + t * B * GH;
        const T* ht = out + t * B * DH + dir * H;
        const T* at = aux + t * BH;
        const T* dot = d_out + t * B * DH + dir * H;
        T* dgx = d_gx + t * B * GH;
        T* dgh = d_gh + t * B * GH;
        if (record)  // total dL/dh_t = dy_t + the gradient arriving through the recurrence
            for (int64_t b = 0; b < B; ++b)
                for (int64_t j = 0; j < H; ++j) record[(t * B + b) * DH + dir * H + j] = dot[b * DH + j] + dh[b * H + j];
        for (int64_t b = 0; b < B; ++b) {
            const T* gr = gt + b * GH;
            const T* hr = ht + b * DH;
            const T* dor = dot + b * DH;
            T* dhr = dh + b * H;
            T* dxr = dgx + b * GH;
            switch (cell) {
                case Cell::RnnTanh:
                    for (int64_t j = 0; j < H; ++j) dxr[j] = (dor[j] + dhr[j]) * (T(1) - hr[j] * hr[j]);
                    break;
                case Cell::RnnRelu:
                    for (int64_t j = 0; j < H; ++j) dxr[j] = hr[j] > T(0) ? dor[j] + dhr[j] : T(0);
                    break;
                case Cell::Lstm:
                case Cell::LstmPeephole: {
                    const T* cr = at + b * H;
                    const T* cp = c_prev + b * H;
                    T* dcr = dc + b * H;
                    for (int64_t j = 0; j < H; ++j) {
                        const T i = gr[j], f = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];
                        const T c = cr[j], tc = std::tanh(c);
                        const T dht = dor[j] + dhr[j];
                        const T d_po = dht * tc * og * (T(1) - og);
                        T dct = dcr[j] + dht * og * (T(1) - tc * tc);
                        if (p_o) dct += d_po * p_o[j];
                        const T d_pi = dct * gg * i * (T(1) - i);
                        const T d_pf = dct * cp[j] * f * (T(1) - f);
                        const T d_pg = dct * i * (T(1) - gg * gg);
                        T dcp = dct * f;
                        if (p_i) {
                            dcp += d_pi * p_i[j] + d_pf * p_f[j];
                            d_peep[j] += d_pi * cp[j];
                            d_peep[H + j] += d_pf * cp[j];
                            d_peep[2 * H + j] += d_po * c;
                        }
                        dxr[j] = d_pi;
                        dxr[H + j] = d_pf;
                        dxr[2 * H + j] = d_pg;
                        dxr[3 * H + j] = d_po;
                        dcr[j] = dcp;
                    }
                    break;
                }
                case Cell::Gru: {
                    const T* ar = at + b * H;
                    const T* hp = h_prev + b * ld_h;
                    T* dhr_row = dgh + b * GH;
                    T* direct = dh_next + b * H;
                    for (int64_t j = 0; j < H; ++j) {
                        const T r = gr[j], z = gr[H + j], n = gr[2 * H + j];
                        const T dht = dor[j] + dhr[j];
                        const T d_pn = dht * (T(1) - z) * (T(1) - n * n);
                        const T d_pz = dht * (hp[j] - n) * z * (T(1) - z);
                        const T d_pr = d_pn * ar[j] * r * (T(1) - r);
                        dxr[j] = d_pr;
                        dxr[H + j] = d_pz;
                        dxr[2 * H + j] = d_pn;
                        dhr_row[j] = d_pr;
                        dhr_row[H + j] = d_pz;
                        dhr_row[2 * H + j] = d_pn * r;
                        direct[j] = dht * z;
                    }
                    break;
                }
            }
        }
        // dh_{t-1} = dGh_t W_hh (+ z * dh_t for GRU, already in dh_next).
        gemm(false, false, B, H, GH, T(1), dgh, GH, w_hh, H, gru ? T(1) : T(0), dh_next, H);
        std::swap(dh, dh_next);
    }
    if (dh0) std::memcpy(dh0, dh, sizeof(T) * BH);
    if (dc0 && lstm) std::memcpy(dc0, dc, sizeof(T) * BH);

    const T beta = accumulate ? T(1) : T(0);
    if (dp) {
        gemm(true, false, GH, in, TB, T(1), d_gx, GH, x_in, in, beta, dp + o.w_ih, in);
        // dW_hh = sum_t dGh_t^T h_{t-1}: the steps whose h_{t-1} is a layer output form one GEMM, the first step
        // (which sees h0) another.
        T* dw_hh = dp + o.w_hh;
        const int64_t first_t = dir == 0 ? 0 : T_ - 1;
        if (T_ > 1) {
            const T* a = dir == 0 ? d_gh + B * GH : d_gh;
            const T* h = dir == 0 ? out + dir * H : out + B * DH + dir * H;
            gemm(true, false, GH, H, (T_ - 1) * B, T(1), a, GH, h, DH, beta, dw_hh, H);
        }
        gemm(true, false, GH, H, B, T(1), d_gh + first_t * B * GH, GH, h0, H, T_ > 1 ? T(1) : beta, dw_hh, H);
        T* db_ih = dp + o.b_ih;
        T* db_hh = dp + o.b_hh;
        if (!accumulate) {
            std::fill(db_ih, db_ih + GH, T(0));
            std::fill(db_hh, db_hh + GH, T(0));
        }
        for (int64_t r = 0; r < TB; ++r) {
            const T* a = d_gx + r * GH;
            const T* c = d_gh + r * GH;
            for (int64_t j = 0; j < GH; ++j) {
                db_ih[j] += a[j];
                db_hh[j] += c[j];
            }
        }
        if (p_i) {
            T* dpi = dp + o.p_i;
            T* dpf = dp + o.p_f;
            T* dpo = dp + o.p_o;
            for (int64_t j = 0; j < H; ++j) {
                dpi[j] = beta * dpi[j] + d_peep[j];
                dpf[j] = beta * dpf[j] + d_peep[H + j];
                dpo[j] = beta * dpo[j] + d_peep[2 * H + j];
            }
        }
    }
    if (d_x) gemm(false, false, TB, in, GH, T(1), d_gx, GH, w_ih, in, add_dx ? T(1) : T(0), d_x, in);
}

}  // namespace

template <typename T>
size_t RnnWorkspace<T>::bytes() const {
    return sizeof(T) * (x_tm.capacity() + outs.capacity() + gates.capacity() + aux.capacity() + init.capacity() +
                        step.capacity() + d_out.capacity() + d_in.capacity() + d_top.capacity() + d_record.capacity() + d_gx.capacity() + d_gh.capacity() +
                        d_state.capacity());
}

template <typename T>
void rnn_forward(const RnnDims& dims, int64_t batch, int64_t steps, bool training, const T* x, const T* params,
                 const T* h0, const T* c0, T* y, T* hn, T* cn, RnnWorkspace<T>& ws) {
    const Geometry g = geometry(dims, batch, steps);
    const int64_t TB = g.TB(), DH = g.DH(), GH = g.GH(), BH = g.BH(), LD = g.L * g.D;
    ws.saved_batch = ws.saved_steps = 0;

    const T* x_tm = x;
    if (dims.batch_first) {
        T* buf = ensure(ws.x_tm, TB * g.I);
        swap_batch_time(x, buf, g.B, g.T, g.I);
        x_tm = buf;
    }
    const int64_t out_slots = training ? g.L : std::min<int64_t>(g.L, 2);
    const int64_t gate_slots = training ? LD : 1;
    T* outs = ensure(ws.outs, out_slots * TB * DH);
    T* gates = ensure(ws.gates, gate_slots * TB * GH);
    T* aux = ensure(ws.aux, gate_slots * TB * g.H);
    T* init = ensure(ws.init, 2 * LD * BH);
    T* step = ensure(ws.step, g.B * GH);
    if (h0) std::memcpy(init, h0, sizeof(T) * LD * BH); else std::fill(init, init + LD * BH, T(0));
    if (c0) std::memcpy(init + LD * BH, c0, sizeof(T) * LD * BH); else std::fill(init + LD * BH, init + 2 * LD * BH, T(0));

    for (int64_t l = 0; l < g.L; ++l) {
        const T* in = l == 0 ? x_tm : outs + ((l - 1) % out_slots) * TB * DH;
        T* out = outs + (l % out_slots) * TB * DH;
        for (int d = 0; d < g.D; ++d) {
            const int64_t slot = training ? l * g.D + d : 0;
            const int64_t k = l * g.D + d;
            forward_direction(dims.cell, g, d, in, dims.layer_input(l), params, layer_params(dims, l, d),
                              gates + slot * TB * GH, aux + slot * TB * g.H, out, init + k * BH,
                              init + LD * BH + k * BH, step, hn ? hn + k * BH : nullptr, cn ? cn + k * BH : nullptr);
        }
    }
    const T* last = outs + ((g.L - 1) % out_slots) * TB * DH;
    if (dims.batch_first) swap_batch_time(last, y, g.T, g.B, DH);
    else std::memcpy(y, last, sizeof(T) * TB * DH);
    if (training) {
        ws.saved_batch = g.B;
        ws.saved_steps = g.T;
    }
}

template <typename T>
void rnn_backward(const RnnDims& dims, const T* x, const T* params, const T* dy, const T* dhn, const T* dcn, T* dx,
                  T* dh0, T* dc0, T* dparams, bool accumulate, T* dh_top, RnnWorkspace<T>& ws) {
    const Geometry g = geometry(dims, ws.saved_batch, ws.saved_steps);
    const int64_t TB = g.TB(), DH = g.DH(), GH = g.GH(), BH = g.BH(), LD = g.L * g.D, H = g.H;
    const T* x_tm = dims.batch_first ? ws.x_tm.data() : x;
    T* d_out = ensure(ws.d_out, 2 * TB * DH);
    T* d_in = dx && dims.batch_first ? ensure(ws.d_in, TB * g.I) : nullptr;
    T* d_gx = ensure(ws.d_gx, TB * GH);
    T* d_gh = dims.cell == Cell::Gru ? ensure(ws.d_gh, TB * GH) : nullptr;
    T* st = ensure(ws.d_state, 3 * BH + 3 * H);
    const T* init = ws.init.data();
    T* record = dh_top ? (dims.batch_first ? ensure(ws.d_record, TB * DH) : dh_top) : nullptr;

    const T* d_top = dy;
    if (dims.batch_first) {
        T* buf = ensure(ws.d_top, TB * DH);
        swap_batch_time(dy, buf, g.B, g.T, DH);
        d_top = buf;
    }
    for (int64_t l = g.L - 1; l >= 0; --l) {
        const T* in = l == 0 ? x_tm : ws.outs.data() + (l - 1) * TB * DH;
        const int64_t in_size = dims.layer_input(l);
        const T* out = ws.outs.data() + l * TB * DH;
        const T* d_layer = l == g.L - 1 ? d_top : d_out + (l % 2) * TB * DH;
        // Gradient w.r.t. this layer's input: the layer below's output, or x (time-major, when asked for).
        T* d_x = l > 0 ? d_out + ((l - 1) % 2) * TB * DH : (dx ? (dims.batch_first ? d_in : dx) : nullptr);
        for (int d = 0; d < g.D; ++d) {
            const int64_t k = l * g.D + d;
            backward_direction(dims.cell, g, d, in, in_size, params, layer_params(dims, l, d),
                               ws.gates.data() + k * TB * GH, ws.aux.data() + k * TB * H, out, init + k * BH,
                               init + LD * BH + k * BH, d_layer, dhn ? dhn + k * BH : nullptr,
                               dcn ? dcn + k * BH : nullptr, d_x, d == 1, dh0 ? dh0 + k * BH : nullptr,
                               dc0 ? dc0 + k * BH : nullptr, dparams, accumulate, d_gx, d_gh, st, st + BH,
                               st + 2 * BH, st + 3 * BH, l == g.L - 1 ? record : nullptr);
        }
    }
    if (dx && dims.batch_first) swap_batch_time(d_in, dx, g.T, g.B, g.I);
    if (dh_top && dims.batch_first) swap_batch_time(record, dh_top, g.T, g.B, DH);
}

template struct RnnWorkspace<float>;
template struct RnnWorkspace<double>;
template void rnn_forward<float>(const RnnDims&, int64_t, int64_t, bool, const float*, const float*, const float*,
                                 const float*, float*, float*, float*, RnnWorkspace<float>&);
template void rnn_forward<double>(const RnnDims&, int64_t, int64_t, bool, const double*, const double*,
                                  const double*, const double*, double*, double*, double*, RnnWorkspace<double>&);
template void rnn_backward<float>(const RnnDims&, const float*, const float*, const float*, const float*,
                                  const float*, float*, float*, float*, float*, bool, float*, RnnWorkspace<float>&);
template void rnn_backward<double>(const RnnDims&, const double*, const double*, const double*, const double*,
                                   const double*, double*, double*, double*, double*, bool, double*, RnnWorkspace<double>&);

}  // namespace hpc::cpu
