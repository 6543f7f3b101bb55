// A/B of hpc_gemm (float32) between two builds of libhpc_native, loaded side by side with dlopen in one process: the
// bits of C (the count of elements that differ) and the time of each, alternated A B A B for `rounds` rounds.
// Build: g++ -O2 -std=c++17 bench/compare/gemm_ab.cpp -o /tmp/gemm_ab -ldl
// Run:   taskset -c 0,1 /tmp/gemm_ab A.so B.so ta tb m n k reps rounds [threads] [beta]
// (threads 0: the library default; with beta != 0 each timed call also copies C back to its start values.)
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
typedef int (*Gemm)(int, int, int, long, long, long, double, const void*, long, long, const void*, long, long, double, void*, long, long);
typedef int (*Thr)(int);
int main(int argc, char** argv) {
    if (argc < 10) { fprintf(stderr, "usage: A.so B.so ta tb m n k reps rounds [threads] [beta]\n"); return 2; }
    void* h[2] = {dlopen(argv[1], RTLD_NOW | RTLD_LOCAL), dlopen(argv[2], RTLD_NOW | RTLD_LOCAL)};
    if (!h[0] || !h[1]) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    Gemm g[2] = {(Gemm)dlsym(h[0], "hpc_gemm"), (Gemm)dlsym(h[1], "hpc_gemm")};
    int ta = atoi(argv[3]), tb = atoi(argv[4]);
    long m = atol(argv[5]), n = atol(argv[6]), k = atol(argv[7]);
    int reps = atoi(argv[8]), rounds = atoi(argv[9]);
    int threads = argc > 10 ? atoi(argv[10]) : 0;
    double beta = argc > 11 ? atof(argv[11]) : 0.0;
    for (int i = 0; i < 2; ++i) ((Thr)dlsym(h[i], "hpc_set_num_threads"))(threads);
    long lda = ta ? m : k, ldb = tb ? k : n;
    std::vector<float> a(m * k), b(k * n), c0(m * n), c[2];
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : a) v = u(rng);
    for (auto& v : b) v = u(rng);
    for (auto& v : c0) v = u(rng);
    double best[2] = {1e30, 1e30};
    std::vector<double> med[2];
    for (int r = 0; r < rounds; ++r)
        for (int i = 0; i < 2; ++i) {
            c[i] = c0;
            if (g[i](1, ta, tb, m, n, k, 1.0, a.data(), a.size(), lda, b.data(), b.size(), ldb, beta, c[i].data(), c[i].size(), n)) return 3;
            std::vector<float> cc = c0;
            auto t0 = std::chrono::steady_clock::now();
            for (int q = 0; q < reps; ++q) { if (beta != 0) cc = c0; g[i](1, ta, tb, m, n, k, 1.0, a.data(), a.size(), lda, b.data(), b.size(), ldb, beta, cc.data(), cc.size(), n); }
            double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
            best[i] = std::min(best[i], dt);
            med[i].push_back(dt);
        }
    long diff = 0;
    for (long i = 0; i < m * n; ++i) diff += memcmp(&c[0][i], &c[1][i], 4) != 0;
    for (int i = 0; i < 2; ++i) std::sort(med[i].begin(), med[i].end());
    double fl = 2.0 * m * n * k;
    printf("ta%d tb%d m%ld n%ld k%ld: A best %.4f ms (%.1f GF/s) med %.4f | B best %.4f ms (%.1f GF/s) med %.4f | B/A %.3f | differing elements %ld\n",
           ta, tb, m, n, k, best[0] * 1e3, fl / best[0] * 1e-9, med[0][rounds / 2] * 1e3, best[1] * 1e3, fl / best[1] * 1e-9,
           med[1][rounds / 2] * 1e3, med[1][rounds / 2] / med[0][rounds / 2], diff);
}
