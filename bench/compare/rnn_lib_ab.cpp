// Two builds of the native library (libhpc_native.so) in one process: one float32 single-layer configuration through
// the C ABI (hpc_rnn_forward, and hpc_rnn_backward in training), weights frozen before the timing as in
// rnn_abi_time.cpp, blocks of calls of each build alternated (A B, then B A, ...). ab_native.py times the builds in
// separate processes, whose medians this VM's drift moves by up to 5-10 %; here both builds see the same minutes.
// Each build is loaded with RTLD_LOCAL (its own statics and thread team); a team's workers poll for 2 ms after a
// section, so each block is followed by a 4 ms pause (the other build's workers then sleep), and the first call of a
// block is not counted.
// Build: g++ -O2 -std=c++17 bench/compare/rnn_lib_ab.cpp -Inative/include -o /tmp/rnn_lib_ab -ldl -lpthread
// Run:   /tmp/rnn_lib_ab A.so B.so CELL(lstm|gru|rnn_tanh) B T I H inference|training SECONDS [CALLS_PER_BLOCK]
// Prints each build's median (over blocks) of the blocks' median call time, the median of the per-block ratios B / A
// with quartiles, and whether the two builds' outputs (y; dx and the parameter gradients in training) agree bit for
// bit.
#include <hpc/hpc.h>
#include <dlfcn.h>

#include "rnn_bench_desc.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Lib {
    decltype(&hpc_rnn_param_layout) param_layout;
    decltype(&hpc_rnn_create) create;
    decltype(&hpc_rnn_freeze_params) freeze;
    decltype(&hpc_rnn_forward) forward;
    decltype(&hpc_rnn_backward) backward;
    decltype(&hpc_last_error) last_error;
    hpc_rnn* r = nullptr;
    std::vector<float> y, dx, dp;
};
template <typename F>
void bind(void* h, const char* name, F& f) {
    f = reinterpret_cast<F>(dlsym(h, name));
    if (!f) {
        std::fprintf(stderr, "%s: %s\n", name, dlerror());
        std::exit(1);
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 10 && argc != 11) {
        std::fprintf(stderr, "usage: rnn_lib_ab A.so B.so CELL B T I H inference|training SECONDS [CALLS_PER_BLOCK]\n");
        return 2;
    }
    const std::string cell = argv[3], mode = argv[8];
    const int64_t B = std::atoll(argv[4]), T = std::atoll(argv[5]), I = std::atoll(argv[6]), H = std::atoll(argv[7]);
    const double seconds = std::atof(argv[9]);
    const int block = argc == 11 ? std::atoi(argv[10]) : 5;
    const bool training = mode == "training";
    hpc_rnn_desc d;
    if (!single_layer_desc(cell, mode, B, T, I, H, false, d)) return 2;
    if (block < 2) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    Lib libs[2];
    std::vector<float> p, x((size_t)(T * B * I)), dy((size_t)(T * B * H));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    for (int i = 0; i < 2; ++i) {
        void* h = dlopen(argv[1 + i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            std::fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
        Lib& l = libs[i];
        bind(h, "hpc_rnn_param_layout", l.param_layout);
        bind(h, "hpc_rnn_create", l.create);
        bind(h, "hpc_rnn_freeze_params", l.freeze);
        bind(h, "hpc_rnn_forward", l.forward);
        bind(h, "hpc_rnn_backward", l.backward);
        bind(h, "hpc_last_error", l.last_error);
        int64_t tensors = 0, np = 0;
        if (l.param_layout(&d, &tensors, &np) != HPC_OK || l.create(&d, &l.r) != HPC_OK) return 1;
        if (p.empty()) {
            p.resize((size_t)np);
            for (auto* v : {&p, &x, &dy})
                for (auto& e : *v) e = u(rng);
        }
        if (l.freeze(l.r, p.data(), np) != HPC_OK) return 1;
        l.y.resize(dy.size());
        l.dx.resize(x.size());
        l.dp.resize(p.size());
    }
    auto run = [&](Lib& l) {
        const auto t0 = std::chrono::steady_clock::now();
        int32_t rc = l.forward(l.r, training, B, T, x.data(), (int64_t)x.size(), nullptr, 0, nullptr, 0, nullptr, 0,
                               l.y.data(), (int64_t)l.y.size(), nullptr, 0, nullptr, 0);
        if (rc == HPC_OK && training)
            rc = l.backward(l.r, x.data(), (int64_t)x.size(), nullptr, 0, dy.data(), (int64_t)dy.size(), nullptr, 0, nullptr,
                            0, l.dx.data(), (int64_t)l.dx.size(), nullptr, 0, nullptr, 0, l.dp.data(), (int64_t)l.dp.size(),
                            0, nullptr, 0);
        if (rc != HPC_OK) {
            char msg[512];
            l.last_error(msg, sizeof msg);
            std::fprintf(stderr, "%s\n", msg);
            std::exit(1);
        }
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    auto median = [](std::vector<double> v, double q = 0.5) {
        std::sort(v.begin(), v.end());
        return v[(size_t)(q * (double)(v.size() - 1))];
    };
    std::vector<double> ta, tb, ratio;
    const auto start = std::chrono::steady_clock::now();
    for (int it = 0; std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds || it < 4; ++it) {
        double m[2];
        for (int k = 0; k < 2; ++k) {
            const int i = it % 2 == 0 ? k : 1 - k;
            std::vector<double> t;
            for (int c = 0; c < block; ++c) {
                const double ms = run(libs[i]);
                if (c > 0) t.push_back(ms);
            }
            m[i] = median(t);
            std::this_thread::sleep_for(std::chrono::milliseconds(4));
        }
        ta.push_back(m[0]), tb.push_back(m[1]), ratio.push_back(m[1] / m[0]);
    }
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    const bool equal = same(libs[0].y, libs[1].y) && (!training || (same(libs[0].dx, libs[1].dx) && same(libs[0].dp, libs[1].dp)));
    std::printf("%s B %ld T %ld I %ld H %ld %s blocks %zu: A %.3f ms, B %.3f ms, B/A %.3f (quartiles %.3f %.3f), %s\n",
                cell.c_str(), (long)B, (long)T, (long)I, (long)H, mode.c_str(), ratio.size(), median(ta), median(tb),
                median(ratio), median(ratio, 0.25), median(ratio, 0.75), equal ? "same bits" : "outputs differ");
}
