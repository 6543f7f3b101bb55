// The machine's rate for the Viterbi score step's operations, no library: 16 independent accumulators in registers,
// each instruction mix in inline asm (no compiler choices), best of three runs of 320 million pairs, one thread.
// Mixes: an FMA x * 1 + y (its multiplicand copied first, as GCC does, the row of log A from a register or from memory)
// and a max, the step's pair; an add and a max; maxima alone; FMAs alone. Prints ns per pair and pairs per cycle at
// the clock measured first (a chain of dependent integer adds, one a cycle).
//   g++ -O2 -mavx512f -std=c++17 bench/compare/fp_pipe_rates.cpp -o /tmp/fp_pipe_rates
//   taskset -c 0 /tmp/fp_pipe_rates
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <algorithm>
// Per iteration 16 pairs of one mix (V: the names in main).
#define R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
template <int V> __attribute__((noinline)) void loop(int64_t iters, const double* la) {
    for (int64_t it = 0; it < iters; ++it) {
        if constexpr (V == 0) {  // reg fma (231 on copies) + max: mov, fma, max
            __asm__ volatile(
#define P(i) "vmovapd %%zmm30, %%zmm" #i "\n\tvfmadd132pd %%zmm2" #i ", %%zmm31, %%zmm" #i "\n\tvmaxpd %%zmm" #i ", %%zmm1" #i ", %%zmm1" #i "\n\t"
                R8(P) R8(P)
#undef P
                ::: "memory");
        } else if constexpr (V == 1) {  // mem fma + mov + max
            __asm__ volatile(
#define P(i) "vmovapd %%zmm30, %%zmm" #i "\n\tvfmadd132pd " #i "*64(%0), %%zmm31, %%zmm" #i "\n\tvmaxpd %%zmm" #i ", %%zmm1" #i ", %%zmm1" #i "\n\t"
                R8(P) R8(P)
#undef P
                ::"r"(la) : "memory");
        } else if constexpr (V == 2) {  // mem add + max
            __asm__ volatile(
#define P(i) "vaddpd " #i "*64(%0), %%zmm31, %%zmm" #i "\n\tvmaxpd %%zmm" #i ", %%zmm1" #i ", %%zmm1" #i "\n\t"
                R8(P) R8(P)
#undef P
                ::"r"(la) : "memory");
        } else if constexpr (V == 3) {  // max only
            __asm__ volatile(
#define P(i) "vmaxpd %%zmm2" #i ", %%zmm1" #i ", %%zmm1" #i "\n\t"
                R8(P) R8(P)
#undef P
                ::: "memory");
        } else if constexpr (V == 4) {  // fma only, mem
            __asm__ volatile(
#define P(i) "vfmadd231pd " #i "*64(%0), %%zmm31, %%zmm1" #i "\n\t"
                R8(P) R8(P)
#undef P
                ::"r"(la) : "memory");
        }
    }
}
double clock_ghz() {
    double best = 1e9;
    const int64_t n = 200000000;
    for (int r = 0; r < 3; ++r) {
        int64_t x = 0;
        auto t0 = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < n; ++i) __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return 4.0 * n / best / 1e9;
}

int main() {
    const double ghz = clock_ghz();
    printf("clock %.2f GHz (dependent integer adds)\n", ghz);
    alignas(64) static double la[64 * 8] = {};
    const int64_t iters = 20000000;
    const char* names[] = {"reg mov+fma+max", "mem mov+fma+max", "mem add+max", "max only", "mem fma only"};
    auto t = [&](auto f, int v) {
        double best = 1e9;
        for (int r = 0; r < 3; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            f(iters, la);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        printf("%-18s %.3f ns per pair, %.2f per cycle at %.2f GHz\n", names[v], best * 1e9 / (iters * 16.0), iters * 16.0 / best / (ghz * 1e9), ghz);
    };
    t(loop<0>, 0); t(loop<1>, 1); t(loop<2>, 2); t(loop<3>, 3); t(loop<4>, 4);
}
