// One float32 single-layer configuration timed through the C ABI (`hpc_rnn_forward` / `hpc_rnn_backward`), weights
// frozen before the timing (`hpc_rnn_freeze_params`, as `hpc bench rnn --frozen-weights`); prints the median ms. It
// links libhpc_native.so dynamically, so that ab_native.py can time two builds of the library (LD_LIBRARY_PATH) with
// the same harness, alternately, in one run.
// Build (from the repository root): g++ -O2 -std=c++17 bench/compare/rnn_abi_time.cpp -Inative/include
//   -Lbuild/native -lhpc_native -o out/bench/rnn_abi_time
// Usage: rnn_abi_time CELL(lstm|gru|rnn_tanh) B T I H MODE REPEATS [WARMUP_MS]
// MODE: inference or training (time-major x and y, as the side-by-side grids), or either with `-batch-first`.
#include <hpc/hpc.h>

#include "rnn_bench_desc.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
    if (argc != 8 && argc != 9) {
        std::fprintf(stderr, "usage: rnn_abi_time CELL B T I H inference|training[-batch-first] REPEATS [WARMUP_MS]\n");
        return 2;
    }
    const std::string cell = argv[1], mode_arg = argv[6], suffix = "-batch-first";
    const bool batch_first = mode_arg.size() > suffix.size() && mode_arg.compare(mode_arg.size() - suffix.size(), suffix.size(), suffix) == 0;
    const std::string mode = batch_first ? mode_arg.substr(0, mode_arg.size() - suffix.size()) : mode_arg;
    const int64_t B = std::atoll(argv[2]), T = std::atoll(argv[3]), I = std::atoll(argv[4]), H = std::atoll(argv[5]);
    const int repeats = std::atoi(argv[7]);
    const double warm_ms = argc == 9 ? std::atof(argv[8]) : 200;
    const bool training = mode == "training";
    hpc_rnn_desc d;
    if (!single_layer_desc(cell, mode, B, T, I, H, batch_first, d)) return 2;
    if (repeats <= 0) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    int64_t tensors = 0, np = 0;
    hpc_rnn* r = nullptr;
    if (hpc_rnn_param_layout(&d, &tensors, &np) != HPC_OK || hpc_rnn_create(&d, &r) != HPC_OK) return 1;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    std::vector<float> p((size_t)np), x((size_t)(T * B * I)), y((size_t)(T * B * H)), dy(y.size()), dp(p.size()), dx(x.size());
    for (auto* v : {&p, &x, &dy})
        for (auto& e : *v) e = u(rng);
    if (hpc_rnn_freeze_params(r, p.data(), np) != HPC_OK) return 1;
    auto run = [&] {
        int32_t rc = hpc_rnn_forward(r, training, B, T, x.data(), (int64_t)x.size(), nullptr, 0, nullptr, 0, nullptr, 0,
                                     y.data(), (int64_t)y.size(), nullptr, 0, nullptr, 0);
        if (rc == HPC_OK && training)
            rc = hpc_rnn_backward(r, x.data(), (int64_t)x.size(), nullptr, 0, dy.data(), (int64_t)dy.size(), nullptr, 0,
                                  nullptr, 0, dx.data(), (int64_t)dx.size(), nullptr, 0, nullptr, 0, dp.data(),
                                  (int64_t)dp.size(), 0, nullptr, 0);
        if (rc != HPC_OK) {
            char msg[512];
            hpc_last_error(msg, sizeof msg);
            std::fprintf(stderr, "%s\n", msg);
            std::exit(1);
        }
    };
    const double w0 = now_ms();
    do run(); while (now_ms() - w0 < warm_ms);
    std::vector<double> ts;
    for (int i = 0; i < repeats; ++i) {
        const double t0 = now_ms();
        run();
        ts.push_back(now_ms() - t0);
    }
    std::sort(ts.begin(), ts.end());
    std::printf("%.4f\n", ts[ts.size() / 2]);
    hpc_rnn_destroy(r);
    return 0;
}
