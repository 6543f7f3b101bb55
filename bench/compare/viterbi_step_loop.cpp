// Standalone Viterbi forward loops (one thread, no library), the measurements behind the choices in
// native/src/cpu/hmm_small_k.cpp's Viterbi (scores only above 16 states, FMA-pipe adds, two sequences per row of
// log A, scores streamed): ns per row at K 8, 32, 64 over ROWS rows of each sequence (default 50,000).
//   g++ -O3 -mavx512f -std=gnu++17 bench/compare/viterbi_step_loop.cpp -o /tmp/viterbi_step_loop
//   taskset -c 0 /tmp/viterbi_step_loop [ROWS]
// Variants: tracked (value and argmax per candidate: compare and two blends, as the back-pointer kernel), adds (max
// and add), fma (max and x * 1 + y), two (fma, two sequences sharing each row of log A, one logB row each; the
// library's step), two-streamed (two, the rows of scores written with non-temporal stores, the previous rows kept
// in a cache-resident ring).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

typedef double V __attribute__((vector_size(64)));
typedef int64_t VI __attribute__((vector_size(64)));
static inline V splat(double x) { return V{} + x; }
static inline V vmax(V c, V cand) { return cand > c ? cand : c; }

template <int NV>
void tracked(int64_t n, const double* lb, const V* LA, double* d, int32_t* back) {
    constexpr int K = NV * 8;
    for (int64_t t = 1; t < n; ++t) {
        const double* p = d + (t - 1) * K;
        V c[NV];
        VI bk[NV];
        for (int v = 0; v < NV; ++v) c[v] = splat(p[0]) + LA[v], bk[v] = VI{};
        for (int k = 1; k < K; ++k) {
            const V pk = splat(p[k]);
            for (int v = 0; v < NV; ++v) {
                const V cand = pk + LA[k * NV + v];
                const VI b = cand > c[v];
                c[v] = b ? cand : c[v];
                bk[v] = b ? (VI{} + k) : bk[v];
            }
        }
        for (int v = 0; v < NV; ++v) {
            V l;
            std::memcpy(&l, lb + t * K + v * 8, sizeof l);
            const V o = c[v] + l;
            std::memcpy(d + t * K + v * 8, &o, sizeof o);
            for (int j = 0; j < 8; ++j) back[t * K + v * 8 + j] = (int32_t)bk[v][j];
        }
    }
}

// Seqs sequences (rows of d[s], lb[s]); Fma: x * one + y; Stream: non-temporal stores of d, previous rows from ring.
template <int NV, int Seqs, bool Fma, bool Stream>
void scores(int64_t n, double* const* lb, const V* LA, double* const* d, V one) {
    constexpr int K = NV * 8;
    alignas(64) static double ring[2][Seqs][K];
    for (int s = 0; s < Seqs; ++s) std::memcpy(ring[0][s], d[s], sizeof ring[0][s]);
    for (int64_t t = 1; t < n; ++t) {
        const double* p[Seqs];
        for (int s = 0; s < Seqs; ++s) p[s] = Stream ? ring[(t - 1) & 1][s] : d[s] + (t - 1) * K;
        V c[Seqs][NV];
        for (int s = 0; s < Seqs; ++s)
            for (int v = 0; v < NV; ++v) c[s][v] = splat(p[s][0]) + LA[v];
        for (int k = 1; k < K; ++k) {
            V pk[Seqs];
            for (int s = 0; s < Seqs; ++s) pk[s] = splat(p[s][k]);
            for (int v = 0; v < NV; ++v) {
                const V la = LA[k * NV + v];
                for (int s = 0; s < Seqs; ++s) c[s][v] = vmax(c[s][v], Fma ? la * one + pk[s] : la + pk[s]);
            }
        }
        for (int s = 0; s < Seqs; ++s)
            for (int v = 0; v < NV; ++v) {
                V l;
                std::memcpy(&l, lb[s] + t * K + v * 8, sizeof l);
                const V o = c[s][v] + l;
                if (Stream) {
                    std::memcpy(ring[t & 1][s] + v * 8, &o, sizeof o);
                    _mm512_stream_pd(d[s] + t * K + v * 8, (__m512d)o);
                } else {
                    std::memcpy(d[s] + t * K + v * 8, &o, sizeof o);
                }
            }
    }
    _mm_sfence();
}

template <int NV>
void run(int64_t n) {
    constexpr int K = NV * 8;
    std::mt19937_64 g(1);
    std::normal_distribution<double> nd;
    V* LA = (V*)aligned_alloc(64, K * K * 8);
    for (int i = 0; i < K * K; ++i) ((double*)LA)[i] = -std::abs(nd(g)) * 2;
    double* lb[2];
    double* d[2];
    for (int s = 0; s < 2; ++s) {
        lb[s] = (double*)aligned_alloc(64, n * K * 8);
        d[s] = (double*)aligned_alloc(64, n * K * 8);
        for (int64_t i = 0; i < n * K; ++i) lb[s][i] = nd(g) * 3;
        std::memcpy(d[s], lb[s], K * 8);
    }
    int32_t* back = (int32_t*)aligned_alloc(64, n * K * 4);
    static volatile double one_unknown = 1.0;
    const V one = splat(one_unknown);
    auto best = [&](auto f, int64_t rows) {
        double b = 1e30;
        for (int r = 0; r < 5; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            f();
            b = std::min(b, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        return b / (double)rows * 1e9;
    };
    std::printf("K %2d ns a row: tracked %6.1f  adds %6.1f  fma %6.1f  two %6.1f  two-streamed %6.1f\n", K,
                best([&] { tracked<NV>(n, lb[0], LA, d[0], back); }, n),
                best([&] { scores<NV, 1, false, false>(n, lb, LA, d, one); }, n),
                best([&] { scores<NV, 1, true, false>(n, lb, LA, d, one); }, n),
                best([&] { scores<NV, 2, true, false>(n, lb, LA, d, one); }, 2 * n),
                best([&] { scores<NV, 2, true, true>(n, lb, LA, d, one); }, 2 * n));
}

int main(int argc, char** argv) {
    const int64_t n = argc > 1 ? std::atol(argv[1]) : 50000;
    run<1>(n);
    run<4>(n);
    run<8>(n);
}
