#include "thread_team.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#define HPC_PAUSE() _mm_pause()
#else
#define HPC_PAUSE() ((void)0)
#endif

namespace hpc::cpu {
namespace {

// How long an idle worker polls before it sleeps. Measured on 2 cores: with 200 us, workers that slept between
// sections were woken late often enough to put some runs in a slow mode (LSTM B16 T100 H128: 1.9 ms instead of
// 1.2 ms, bimodal across runs); 2 ms removed it. A process that stops calling HPC spends 2 ms of a core per worker.
constexpr auto kSpin = std::chrono::microseconds(2000);
constexpr int kMaxChunks = 0xFFFF;

// The section state is one 64-bit word: generation (32 bits) | lowest unclaimed chunk (16) | highest unclaimed + 1 (16). A chunk is
// claimed by a compare-and-swap that also checks the generation, so a late worker cannot claim from a newer section.
inline uint64_t pack_state(uint64_t gen, uint64_t lo, uint64_t hi) { return gen << 32 | lo << 16 | hi; }
inline uint32_t gen_of(uint64_t s) { return (uint32_t)(s >> 32); }

int hardware_threads() { return (int)std::max(1u, std::thread::hardware_concurrency()); }

class Team {
public:
    ~Team() {
        {
            std::lock_guard<std::mutex> g(sleep_mu_);
            stop_.store(true, std::memory_order_release);
            state_.store(pack_state(gen_ + 1, 0, 0), std::memory_order_release);
        }
        sleep_cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

    void set_size(int n) { size_.store(n > 0 ? n : hardware_threads(), std::memory_order_relaxed); }
    int size() const { return size_.load(std::memory_order_relaxed); }

    void run(int chunks, void (*fn)(void*, int, int), void* ctx) {
        std::unique_lock<std::mutex> lock(run_mu_, std::defer_lock);
        const int size = this->size();
        if (chunks <= 1 || size <= 1 || chunks > kMaxChunks || !lock.try_lock()) {
            for (int c = 0; c < chunks; ++c) fn(ctx, c, chunks);
            return;
        }
        while ((int)threads_.size() < size - 1)
            threads_.emplace_back([this, seen = gen_] { worker(seen); });  // a new worker waits for the next section
        fn_ = fn;
        ctx_ = ctx;
        chunks_ = chunks;
        done_.store(0, std::memory_order_relaxed);
        const uint32_t gen = ++gen_;
        {
            // Published under the sleep mutex so that a worker about to sleep cannot miss it.
            std::lock_guard<std::mutex> g(sleep_mu_);
            state_.store(pack_state(gen, 0, chunks), std::memory_order_release);
        }
        if (sleeping_.load(std::memory_order_acquire) > 0) sleep_cv_.notify_all();
        work(gen, true);
        for (int polls = 0; done_.load(std::memory_order_acquire) != chunks; ++polls) {
            HPC_PAUSE();
            if (polls > 4096) std::this_thread::yield();  // a worker holding a chunk may share this core
        }
    }

private:
    // Claims and runs chunks of section `gen` until none is left: the caller from the first chunk up, the workers
    // from the last down, so that with two threads each keeps taking the same chunk from one section to the next.
    void work(uint32_t gen, bool caller = false) {
        uint64_t s = state_.load(std::memory_order_acquire);
        for (;;) {
            if (gen_of(s) != gen) return;
            const uint64_t lo = (s >> 16) & 0xFFFF, hi = s & 0xFFFF;
            if (lo >= hi) return;
            const uint64_t claimed = caller ? s + (uint64_t(1) << 16) : s - 1;
            if (!state_.compare_exchange_weak(s, claimed, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
            // The claim keeps the caller waiting, so fn_, ctx_ and chunks_ still belong to this section.
            const int chunk = (int)(caller ? lo : hi - 1);
            fn_(ctx_, chunk, chunks_);
            done_.fetch_add(1, std::memory_order_acq_rel);
            s = state_.load(std::memory_order_acquire);
        }
    }

    void worker(uint32_t seen) {
        for (;;) {
            uint32_t gen = gen_of(state_.load(std::memory_order_acquire));
            if (gen == seen) {
                const auto until = std::chrono::steady_clock::now() + kSpin;
                int polls = 0;
                while ((gen = gen_of(state_.load(std::memory_order_acquire))) == seen) {
                    HPC_PAUSE();
                    if (++polls % 256 == 0 && std::chrono::steady_clock::now() > until) break;
                }
                if (gen == seen) {
                    std::unique_lock<std::mutex> g(sleep_mu_);
                    sleeping_.fetch_add(1, std::memory_order_acq_rel);
                    sleep_cv_.wait(g, [&] { return gen_of(state_.load(std::memory_order_acquire)) != seen; });
                    sleeping_.fetch_sub(1, std::memory_order_acq_rel);
                    gen = gen_of(state_.load(std::memory_order_acquire));
                }
            }
            seen = gen;
            if (stop_.load(std::memory_order_acquire)) return;
            work(gen);
        }
    }

    std::atomic<int> size_{hardware_threads()};
    std::mutex run_mu_;                 // held by the caller of a section
    std::vector<std::thread> threads_;  // changed only under run_mu_
    uint32_t gen_ = 0;                  // last generation published (caller side, under run_mu_)
    void (*fn_)(void*, int, int) = nullptr;
    void* ctx_ = nullptr;
    int chunks_ = 0;
    alignas(64) std::atomic<uint64_t> state_{0};  // polled by idle workers: a line of its own
    alignas(64) std::atomic<int> done_{0};        // polled by the caller
    alignas(64) std::atomic<int> sleeping_{0};
    std::atomic<bool> stop_{false};
    std::mutex sleep_mu_;
    std::condition_variable sleep_cv_;
};

Team& team() {
    static Team t;
    return t;
}

}  // namespace

void team_set_size(int n) { team().set_size(n); }
int team_size() { return team().size(); }
void team_run(int chunks, void (*fn)(void*, int, int), void* ctx) { team().run(chunks, fn, ctx); }

}  // namespace hpc::cpu
