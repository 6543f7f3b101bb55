// The machine's rate for the Viterbi score step's pair (an add, or an FMA x * 1 + y, and a max) on 4-double AVX2
// vectors, no library: N independent accumulators c = max(c, la + p), la loaded from L1, p fixed; one thread.
// Prints ns per pair (one vector of 4 candidates). The AVX-512 counterpart with inline asm is fp_pipe_rates.cpp.
//   g++ -O2 -mavx2 -mfma -std=c++17 bench/compare/add_max_rate.cpp -o /tmp/add_max_rate
//   taskset -c 0 /tmp/add_max_rate
#include <immintrin.h>
#include <chrono>
#include <cstdio>
template <int N, bool Fma>
__attribute__((noinline)) double run(const double* la, long iters) {
    __m256d c[N];
    for (int i = 0; i < N; ++i) c[i] = _mm256_set1_pd(-1e300);
    const __m256d p = _mm256_set1_pd(0.5), one = _mm256_set1_pd(1.0);
    auto t0 = std::chrono::steady_clock::now();
    for (long it = 0; it < iters; ++it) {
        const double* l = la + (it & 63) * 4 * N;
#pragma GCC unroll 16
        for (int i = 0; i < N; ++i) {
            __m256d x = _mm256_loadu_pd(l + 4 * i);
            __m256d s = Fma ? _mm256_fmadd_pd(x, one, p) : _mm256_add_pd(x, p);
            c[i] = _mm256_max_pd(c[i], s);
        }
        asm volatile("" : "+x"(c[0]));
    }
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double sink = 0;
    for (int i = 0; i < N; ++i) sink += c[i][0];
    if (sink == 42) puts("");
    return dt * 1e9 / (iters * N);  // ns per pair (one vector)
}
int main() {
    alignas(64) static double la[64 * 4 * 16];
    for (int i = 0; i < 64 * 4 * 16; ++i) la[i] = i * 1e-3;
    for (int r = 0; r < 3; ++r)
        printf("8 add: %.3f  8 fma: %.3f  12 add: %.3f  12 fma: %.3f ns/pair\n", run<8, false>(la, 20000000), run<8, true>(la, 20000000),
               run<12, false>(la, 20000000), run<12, true>(la, 20000000));
}
