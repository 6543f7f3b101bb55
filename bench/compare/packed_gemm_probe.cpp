// Times HPC's float32 GEMM on a pre-packed B (gemm_packed: the path of a recurrent layer's step product and input
// projection; hpc_gemm would also pay the packing) at one shape, built from a copy of packed_gemm.cpp so that two
// variants of the kernel can be timed side by side (bench/compare/packed_gemm_ab.py alternates them).
// Build: g++ -O3 -std=c++17 -DPG_SRC='"/path/to/packed_gemm.cpp"' -Inative/src/cpu -Inative/include \
//          bench/compare/packed_gemm_probe.cpp native/src/cpu/thread_team.cpp -o /tmp/probe_NAME -lpthread
// Run:   /tmp/probe_NAME m n k reps threads [seconds]   (prints the median and the fastest time of `reps` calls)
#include PG_SRC
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
using namespace hpc::cpu;
int main(int argc, char** argv) {
    if (argc < 6) { fprintf(stderr, "usage: m n k reps threads [seconds]\n"); return 2; }
    const long m = atol(argv[1]), n = atol(argv[2]), k = atol(argv[3]);
    const int reps = atoi(argv[4]), threads = atoi(argv[5]);
    const double seconds = argc > 6 ? atof(argv[6]) : 0.0;
    team_set_size(threads);
    std::vector<float> a(m * k), w(n * k), c(m * n), pack;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : a) v = u(rng);
    for (auto& v : w) v = u(rng);
    const float* bp = pack_b(w.data(), k, true, k, n, pack);  // B = W^T, as a layer packs W_hh / W_ih
    gemm_packed(m, k, n, a.data(), k, 1, bp, c.data(), n, false);
    std::vector<double> t;
    const auto start = std::chrono::steady_clock::now();
    do {
        const auto t0 = std::chrono::steady_clock::now();
        for (int q = 0; q < reps; ++q) gemm_packed(m, k, n, a.data(), k, 1, bp, c.data(), n, false, nullptr, q & 1);
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
    } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds || t.size() < 5);
    std::sort(t.begin(), t.end());
    double sum = 0;
    for (long i = 0; i < m * n; ++i) sum += c[i];
    printf("m%ld n%ld k%ld th%d: med %.4f ms %.1f GF/s (min %.4f) check %.6g\n", m, n, k, threads, t[t.size() / 2] * 1e3,
           2.0 * m * n * k / t[t.size() / 2] * 1e-9, t[0] * 1e3, sum);
}
