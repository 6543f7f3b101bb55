// Times oneDNN's RNN primitive (the CPU anchor of issue 5) with the method of `hpc bench rnn`; prints one JSON line.
// Build: g++ -O2 bench/compare/onednn_rnn.cpp -ldnnl -o out/bench/onednn_rnn   (Debian's libdnnl-dev, oneDNN 2.6)
// Usage: onednn_rnn CELL(lstm|gru|rnn_tanh) B T I H L BI(0|1) MODE(inference|training) WARMUP REPEATS [WARMUP_MS [reorders]]
// Notes: PyTorch's GRU is oneDNN's lbr_gru. Weights are created in ldigo and reordered once, outside timing, into the
// layouts the forward and backward primitives choose (format any; backward prefers ldgoi). oneDNN 2.6's backward adds
// into the weight gradients, so they are zeroed inside the timed region of every training step. With `reorders`
// (training), every timed step also reorders the weights from ldigo into those layouts again, as a training loop
// whose optimizer updates the weights in the user's layout must (bench/compare/reorders.py; not the rule).
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static memory filled(const memory::desc& md, const engine& eng, std::mt19937& rng) {
    memory m(md, eng);
    float* p = static_cast<float*>(m.get_data_handle());
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    for (size_t i = 0; i < md.get_size() / sizeof(float); ++i) p[i] = u(rng);
    return m;
}

static void zero(memory& m) { std::memset(m.get_data_handle(), 0, m.get_desc().get_size()); }

// `onednn_rnn sgemm N WARMUP REPEATS`: oneDNN's own SGEMM on an N^3 product (one of the rates behind the GEMM limit).
static int sgemm(long n, int warmup, int repeats) {
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    auto run = [&] { dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); };
    for (int i = 0; i < warmup; ++i) run();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("{\"bench\":\"onednn_sgemm\",\"size\":%ld,\"median_ms\":%.4f,\"gflops\":%.1f}\n", n, med, 2.0 * n * n * n / med / 1e6);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && std::string(argv[1]) == "sgemm") return sgemm(std::stol(argv[2]), std::stoi(argv[3]), std::stoi(argv[4]));
    if (argc < 11 || argc > 13) {
        std::fprintf(stderr, "usage: onednn_rnn CELL B T I H L BI MODE WARMUP REPEATS [WARMUP_MS [reorders]] | onednn_rnn sgemm N WARMUP REPEATS\n");
        return 2;
    }
    const std::string cell = argv[1];
    const memory::dim B = std::stol(argv[2]), T = std::stol(argv[3]), I = std::stol(argv[4]), H = std::stol(argv[5]),
                      L = std::stol(argv[6]);
    const bool bi = std::stoi(argv[7]) != 0, training = std::string(argv[8]) == "training";
    const int warmup = std::stoi(argv[9]), repeats = std::stoi(argv[10]);
    const double warmup_ms = argc >= 12 ? std::stod(argv[11]) : 0.0;  // keep warming up until this much time has passed
    const bool reorder_each_step = argc == 13;
    if (reorder_each_step && (std::string(argv[12]) != "reorders" || !training)) {
        std::fprintf(stderr, "onednn_rnn: the 13th argument can only be `reorders`, in training mode (got `%s`, mode %s)\n", argv[12], argv[8]);
        return 2;
    }
    const memory::dim D = bi ? 2 : 1, G = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1, GB = cell == "gru" ? 4 : G;
    // oneDNN stacks layers in one primitive only when every layer has the same input width: use a separate
    // primitive for layer 0 when I differs from D*H.
    if (L > 1 && I != D * H) {
        std::fprintf(stderr, "onednn_rnn: layers > 1 need input == D*hidden in this harness\n");
        return 2;
    }
    const rnn_direction dir = bi ? rnn_direction::bidirectional_concat : rnn_direction::unidirectional_left2right;
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    std::mt19937 rng(1);

    memory::desc src_md({T, B, I}, dt::f32, tag::tnc), dst_md({T, B, D * H}, dt::f32, tag::tnc);
    memory::desc wl_any({L, D, I, G, H}, dt::f32, tag::any), wi_any({L, D, H, G, H}, dt::f32, tag::any);
    memory::desc wl_user({L, D, I, G, H}, dt::f32, tag::ldigo), wi_user({L, D, H, G, H}, dt::f32, tag::ldigo);
    memory::desc bias_md({L, D, GB, H}, dt::f32, tag::ldgo), none;
    const prop_kind fprop = training ? prop_kind::forward_training : prop_kind::forward_inference;

    primitive fwd, bwd;
    memory::desc fwl, fwi, bwl, bwi, dwl, dwi, ws_md;
    if (cell == "lstm") {
        lstm_forward::primitive_desc fpd(lstm_forward::desc(fprop, dir, src_md, none, none, wl_any, wi_any, bias_md, dst_md, none, none), eng);
        fwd = lstm_forward(fpd);
        fwl = fpd.weights_layer_desc(); fwi = fpd.weights_iter_desc(); ws_md = fpd.workspace_desc();
        if (training) {
            lstm_backward::primitive_desc bpd(lstm_backward::desc(prop_kind::backward, dir, src_md, none, none, wl_any, wi_any, bias_md, dst_md, none, none,
                                                                   src_md, none, none, wl_any, wi_any, bias_md, dst_md, none, none), eng, fpd);
            bwd = lstm_backward(bpd);
            bwl = bpd.weights_layer_desc(); bwi = bpd.weights_iter_desc(); dwl = bpd.diff_weights_layer_desc(); dwi = bpd.diff_weights_iter_desc();
        }
    } else if (cell == "gru") {
        lbr_gru_forward::primitive_desc fpd(lbr_gru_forward::desc(fprop, dir, src_md, none, wl_any, wi_any, bias_md, dst_md, none), eng);
        fwd = lbr_gru_forward(fpd);
        fwl = fpd.weights_layer_desc(); fwi = fpd.weights_iter_desc(); ws_md = fpd.workspace_desc();
        if (training) {
            lbr_gru_backward::primitive_desc bpd(lbr_gru_backward::desc(prop_kind::backward, dir, src_md, none, wl_any, wi_any, bias_md, dst_md, none,
                                                                         src_md, none, wl_any, wi_any, bias_md, dst_md, none), eng, fpd);
            bwd = lbr_gru_backward(bpd);
            bwl = bpd.weights_layer_desc(); bwi = bpd.weights_iter_desc(); dwl = bpd.diff_weights_layer_desc(); dwi = bpd.diff_weights_iter_desc();
        }
    } else {
        vanilla_rnn_forward::primitive_desc fpd(vanilla_rnn_forward::desc(fprop, algorithm::eltwise_tanh, dir, src_md, none, wl_any, wi_any, bias_md, dst_md, none), eng);
        fwd = vanilla_rnn_forward(fpd);
        fwl = fpd.weights_layer_desc(); fwi = fpd.weights_iter_desc(); ws_md = fpd.workspace_desc();
        if (training) {
            vanilla_rnn_backward::primitive_desc bpd(vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh, dir, src_md, none, wl_any, wi_any,
                                                                                 bias_md, dst_md, none, src_md, none, wl_any, wi_any, bias_md, dst_md, none), eng, fpd);
            bwd = vanilla_rnn_backward(bpd);
            bwl = bpd.weights_layer_desc(); bwi = bpd.weights_iter_desc(); dwl = bpd.diff_weights_layer_desc(); dwi = bpd.diff_weights_iter_desc();
        }
    }

    memory src = filled(src_md, eng, rng), dst(dst_md, eng), bias = filled(bias_md, eng, rng);
    memory ul = filled(wl_user, eng, rng), ui = filled(wi_user, eng, rng);
    auto reordered = [&](memory& user, const memory::desc& want) {
        memory m(want, eng);
        reorder(user, m).execute(s, user, m);
        return m;
    };
    memory wl = reordered(ul, fwl), wi = reordered(ui, fwi);  // outside timing
    memory ws = training ? memory(ws_md, eng) : memory();
    memory bwl_m, bwi_m, dsrc, ddst, dwl_m, dwi_m, dbias;
    if (training) {
        bwl_m = reordered(ul, bwl);
        bwi_m = reordered(ui, bwi);
        dsrc = memory(src_md, eng);
        ddst = filled(dst_md, eng, rng);
        dwl_m = memory(dwl, eng);
        dwi_m = memory(dwi, eng);
        dbias = memory(bias_md, eng);
    }
    s.wait();

    auto step = [&]() {
        if (reorder_each_step) {
            reorder(ul, wl).execute(s, ul, wl);
            reorder(ui, wi).execute(s, ui, wi);
            reorder(ul, bwl_m).execute(s, ul, bwl_m);
            reorder(ui, bwi_m).execute(s, ui, bwi_m);
        }
        std::unordered_map<int, memory> fargs{{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, wl}, {DNNL_ARG_WEIGHTS_ITER, wi},
                                              {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, dst}};
        if (training) fargs[DNNL_ARG_WORKSPACE] = ws;
        fwd.execute(s, fargs);
        if (training) {
            zero(dwl_m);
            zero(dwi_m);
            zero(dbias);
            bwd.execute(s, {{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, bwl_m}, {DNNL_ARG_WEIGHTS_ITER, bwi_m}, {DNNL_ARG_BIAS, bias},
                            {DNNL_ARG_DST_LAYER, dst}, {DNNL_ARG_WORKSPACE, ws}, {DNNL_ARG_DIFF_SRC_LAYER, dsrc},
                            {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl_m}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi_m}, {DNNL_ARG_DIFF_BIAS, dbias},
                            {DNNL_ARG_DIFF_DST_LAYER, ddst}});
        }
        s.wait();
    };
    const auto w0 = std::chrono::steady_clock::now();
    for (int i = 0; i < warmup; ++i) step();
    while (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w0).count() < warmup_ms) step();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        step();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = repeats % 2 ? ms[repeats / 2] : 0.5 * (ms[repeats / 2 - 1] + ms[repeats / 2]);
    std::printf("{\"bench\":\"onednn_rnn\",\"cell\":\"%s\",\"batch\":%ld,\"seq\":%ld,\"input\":%ld,\"hidden\":%ld,\"layers\":%ld,\"bidirectional\":%s,"
                "\"mode\":\"%s\",\"reorders_timed\":%s,\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,\"onednn\":\"%d.%d.%d\"}\n",
                cell.c_str(), (long)B, (long)T, (long)I, (long)H, (long)L, bi ? "true" : "false", training ? "training" : "inference",
                reorder_each_step ? "true" : "false", median, ms.front(), ms.back(), dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch);
    return 0;
}
