// A process-wide team of worker threads for HPC's float32 kernels and the HMM passes. A parallel section is a function of a chunk
// index, run once for every chunk 0..chunks-1; the caller and the workers claim chunks from one atomic word, so a
// worker that the OS has descheduled (two cores shared with the runtime's own threads) delays a section by at most
// the chunk it has already claimed: the caller takes the rest. The caller claims from the first chunk up, the
// workers from the last down: with two threads and two chunks each thread then runs the same chunk from one section
// to the next (the same columns of a step's weights, kept in its L2), where a single counter gave the caller
// chunk 1 in 16-24 % of such sections (counted over three layers; with two ends 0.5-0.7 %, and 8 % on one where the
// worker was often late and the caller ran both chunks). Between sections the workers spin briefly (a
// recurrent layer runs one section per time step, a few microseconds apart) for up to 2 ms and then sleep. No queue,
// no allocation per section. One caller uses the team at a time; a concurrent caller runs its chunks alone on its
// own thread. Every section in HPC writes disjoint outputs per chunk with the same per-element arithmetic, so
// results do not depend on who ran which chunk.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace hpc::cpu {

// Threads the sections may use, the caller included: hpc_set_num_threads(n) sets n (0 = one per hardware thread).
void team_set_size(int n);
int team_size();

// Runs fn(ctx, chunk, chunks) for chunk = 0..chunks-1 and returns when all have finished.
void team_run(int chunks, void (*fn)(void* ctx, int chunk, int chunks), void* ctx);

// Chunk `chunk` of `chunks` near-equal parts of [0, total), cut at multiples of `unit`: {begin, end}.
inline std::pair<int64_t, int64_t> team_share(int64_t total, int64_t unit, int chunk, int chunks) {
    const int64_t units = (total + unit - 1) / unit;
    const int64_t lo = units * chunk / chunks * unit, hi = units * (chunk + 1) / chunks * unit;
    return {lo < total ? lo : total, hi < total ? hi : total};
}

// team_run with a lambda: team_for(chunks, [&](int chunk, int chunks) { ... }).
template <typename F>
void team_for(int chunks, F&& f) {
    team_run(chunks, [](void* c, int chunk, int n) { (*static_cast<std::remove_reference_t<F>*>(c))(chunk, n); }, &f);
}

}  // namespace hpc::cpu
