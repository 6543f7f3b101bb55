// HPC's own float32 GEMM (packed_gemm.h) and thread team (thread_team.h), compiled into this test binary: every
// kernel (AVX-512 where the CPU has it, the portable AVX2/x86-64 loop always) against a float64 loop, over shapes
// that hit every tile, tail, k-block and thread split; results identical whatever the team size.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "../src/cpu/packed_gemm.h"
#include "../src/cpu/thread_team.h"

namespace {

using hpc::cpu::gemm_f32;
using hpc::cpu::team_set_size;

struct Shape {
    int64_t m, n, k;
    bool ta, tb;
};

// C = op(A) op(B) in float64 from float inputs, and the tolerance of a float32 sum of k products.
void reference(const Shape& s, const std::vector<float>& a, const std::vector<float>& b, std::vector<double>& c,
               std::vector<double>& bound) {
    const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
            double sum = 0, mag = 0;
            for (int64_t q = 0; q < s.k; ++q) {
                const double x = s.ta ? a[q * lda + i] : a[i * lda + q];
                const double y = s.tb ? b[j * ldb + q] : b[q * ldb + j];
                sum += x * y;
                mag += std::fabs(x * y);
            }
            c[i * s.n + j] = sum;
            bound[i * s.n + j] = 2.0 * (s.k + 2) * 6e-8 * mag + 1e-30;
        }
}

std::vector<Shape> shapes() {
    std::vector<Shape> v;
    // Every row-tile count 1..13 and panel tails (n not a multiple of 16), a k past one k-block (256) and k = 0.
    for (int64_t m : {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 16, 25})
        for (int64_t n : {1, 15, 16, 17, 50, 129})
            for (int64_t k : {1, 7, 300}) v.push_back({m, n, k, false, true});
    // B read in place (row-major, whole panels, few rows of A), k past the single-block limit.
    for (int64_t m : {1, 5, 13, 63})
        for (int64_t n : {16, 48, 128})
            for (int64_t k : {7, 300, 1100})
                for (bool ta : {false, true}) v.push_back({m, n, k, ta, false});
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            v.push_back({37, 53, 19, ta, tb});
            v.push_back({70, 300, 520, ta, tb});  // large enough for the team, rows and k blocked
            v.push_back({400, 40, 600, ta, tb});  // few panels, many rows: the team splits rows
            v.push_back({70, 50, 1100, ta, tb});  // k past the single block, B packed (see CopiedTransposedA)
            // Few rows, 7 panels (a group and a padded one): with 3 threads the team splits single panels, and the
            // two-group tiles of up to 3 rows must stop at a group's end when they start inside one.
            v.push_back({2, 100, 3000, ta, tb});
            v.push_back({3, 0, 5, ta, tb});
            v.push_back({5, 9, 0, ta, tb});
        }
    return v;
}

void check_all(const char* what) {
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<float> u(-1, 1);
    for (const Shape& s : shapes()) {
        std::vector<float> a((size_t)(s.m * s.k)), b((size_t)(s.n * s.k));
        for (auto& e : a) e = u(rng);
        for (auto& e : b) e = u(rng);
        std::vector<double> ref((size_t)(s.m * s.n)), bound(ref.size());
        reference(s, a, b, ref, bound);
        std::vector<float> pack;
        for (bool acc : {false, true}) {
            // Columns past n must stay untouched: C has one guard column on each row.
            const int64_t ldc = s.n + 1;
            std::vector<float> c((size_t)(s.m * ldc), 0.5f);
            gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), s.ta ? s.m : s.k, b.data(), s.tb ? s.k : s.n, acc, c.data(), ldc,
                     pack);
            for (int64_t i = 0; i < s.m; ++i) {
                for (int64_t j = 0; j < s.n; ++j) {
                    const double want = ref[i * s.n + j] + (acc ? 0.5 : 0.0);
                    ASSERT_NEAR(c[i * ldc + j], want, bound[i * s.n + j] + (acc ? 1e-7 : 0.0))
                        << what << " m=" << s.m << " n=" << s.n << " k=" << s.k << " ta=" << s.ta << " tb=" << s.tb
                        << " acc=" << acc << " at " << i << "," << j;
                }
                ASSERT_EQ(c[i * ldc + s.n], 0.5f) << what << ": wrote past column n";
            }
        }
    }
}

// A and B of shape s, uniform in [-1, 1).
std::pair<std::vector<float>, std::vector<float>> random_operands(const Shape& s, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> a((size_t)(s.m * s.k)), b((size_t)(s.n * s.k));
    for (auto& e : a) e = u(rng);
    for (auto& e : b) e = u(rng);
    return {a, b};
}

// gemm_f32 on the team with 1, 2 and 3 threads: the three results, to be compared bit for bit.
std::vector<std::vector<float>> results_per_thread_count(const Shape& s, const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<float> pack;
    std::vector<std::vector<float>> out;
    for (int threads : {1, 2, 3}) {
        team_set_size(threads);
        std::vector<float> c((size_t)(s.m * s.n));
        gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), s.ta ? s.m : s.k, b.data(), s.tb ? s.k : s.n, false, c.data(), s.n, pack);
        out.push_back(c);
    }
    team_set_size(0);
    return out;
}

TEST(PackedGemm, BestKernelMatchesFloat64) {
    hpc::cpu::packed_gemm_use_best(true);
    check_all(hpc::cpu::packed_gemm_kernel_name());
}

TEST(PackedGemm, PortableKernelMatchesFloat64) {
    hpc::cpu::packed_gemm_use_best(false);
    check_all("portable");
    hpc::cpu::packed_gemm_use_best(true);
}

// C = A B + bias (added as the tiles are stored) gives the same bits as filling C with the bias and accumulating, for
// every shape, kernel, k block and the in-place path; accumulate ignores the bias; no column past n is written.
TEST(PackedGemm, BiasEqualsFillingThenAccumulating) {
    std::mt19937_64 rng(23);
    std::uniform_real_distribution<float> u(-1, 1);
    for (bool best : {true, false}) {
        hpc::cpu::packed_gemm_use_best(best);
        for (const Shape& s : shapes()) {
            std::vector<float> a((size_t)(s.m * s.k)), b((size_t)(s.n * s.k)), bias((size_t)s.n), pack;
            for (auto& e : a) e = u(rng);
            for (auto& e : b) e = u(rng);
            for (auto& e : bias) e = u(rng);
            const int64_t ldc = s.n + 1, lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
            std::vector<float> filled((size_t)(s.m * ldc), 0.5f), fused(filled.size(), 7.0f), acc(filled.size(), 0.5f);
            for (int64_t i = 0; i < s.m; ++i) {
                std::copy(bias.begin(), bias.end(), filled.begin() + i * ldc);
                fused[i * ldc + s.n] = 0.5f;
            }
            std::vector<float> acc_ref = acc;
            gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, true, filled.data(), ldc, pack);
            gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, false, fused.data(), ldc, pack, bias.data());
            gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, true, acc.data(), ldc, pack, bias.data());
            gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, true, acc_ref.data(), ldc, pack);
            EXPECT_EQ(fused, filled) << "best=" << best << " m=" << s.m << " n=" << s.n << " k=" << s.k << " ta=" << s.ta
                                     << " tb=" << s.tb;
            EXPECT_EQ(acc, acc_ref) << "accumulate must ignore the bias: m=" << s.m << " n=" << s.n << " k=" << s.k;
        }
    }
    hpc::cpu::packed_gemm_use_best(true);
}

// A transposed A over a long k is copied into rows block by block when C is large (the weight gradients at H 1024);
// here on every shape, with the threshold lowered: against float64, and independent of the thread count.
TEST(PackedGemm, CopiedTransposedAMatchesFloat64) {
    hpc::cpu::packed_gemm_use_best(true);
    hpc::cpu::packed_gemm_copy_a_min_output(0);
    check_all("copied A");
    const Shape s{200, 130, 2300, true, false};
    const auto [a, b] = random_operands(s, 5);
    const auto out = results_per_thread_count(s, a, b);
    hpc::cpu::packed_gemm_copy_a_min_output(-1);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(out[0], out[2]);
}

// A product over a large row-major B and a long k (the weight gradients, with A transposed; a layer's dX, A row-major)
// packs B one k block at a time; here on every shape, with the threshold lowered (A read in place and A copied into
// rows): against float64, the same bits as B packed whole, and independent of the thread count.
TEST(PackedGemm, BPackedByBlockMatchesFloat64AndWholePacking) {
    hpc::cpu::packed_gemm_use_best(true);
    hpc::cpu::packed_gemm_block_b_min_bytes(0);
    check_all("B packed by block");
    hpc::cpu::packed_gemm_copy_a_min_output(0);
    check_all("B packed by block, A copied");
    for (const Shape& s : {Shape{200, 130, 2300, true, false}, Shape{200, 130, 2300, false, false}}) {
        const auto [a, b] = random_operands(s, 9);
        // Only a transposed A is ever copied into rows: the row-major shape runs once, in place.
        for (double copy_min : s.ta ? std::vector<double>{0.0, 1e18} : std::vector<double>{1e18}) {
            SCOPED_TRACE(std::string(s.ta ? "A transposed" : "A row-major") + (copy_min == 0 ? ", copied" : ", in place"));
            hpc::cpu::packed_gemm_copy_a_min_output(copy_min);
            hpc::cpu::packed_gemm_block_b_min_bytes(0);
            const auto blocked = results_per_thread_count(s, a, b);
            hpc::cpu::packed_gemm_block_b_min_bytes(1e18);
            const auto whole = results_per_thread_count(s, a, b);
            EXPECT_EQ(blocked[0], blocked[1]);
            EXPECT_EQ(blocked[0], blocked[2]);
            EXPECT_EQ(blocked[0], whole[0]);
        }
    }
    hpc::cpu::packed_gemm_copy_a_min_output(-1);
    hpc::cpu::packed_gemm_block_b_min_bytes(-1);
}

// A row-major B over 4 MB is packed with non-temporal stores (whole panels) and ordinary ones (the tail panel).
TEST(PackedGemm, LargeRowMajorBMatchesFloat64) {
    std::mt19937_64 rng(6);
    std::uniform_real_distribution<float> u(-1, 1);
    const Shape s{64, 1000, 1100, false, false};
    std::vector<float> a((size_t)(s.m * s.k)), b((size_t)(s.n * s.k)), pack, c((size_t)(s.m * s.n));
    for (auto& e : a) e = u(rng);
    for (auto& e : b) e = u(rng);
    std::vector<double> ref((size_t)(s.m * s.n)), bound(ref.size());
    reference(s, a, b, ref, bound);
    gemm_f32(false, false, s.m, s.n, s.k, a.data(), s.k, b.data(), s.n, false, c.data(), s.n, pack);
    for (size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], ref[i], bound[i]) << "at " << i;
}

TEST(PackedGemm, ResultDoesNotDependOnTheThreadCount) {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    for (const Shape& s : {Shape{16, 1024, 256, false, true}, Shape{1, 2048, 300, false, true},
                           Shape{1024, 40, 900, true, false}, Shape{300, 700, 520, false, false},
                           Shape{130, 200, 2100, false, false}, Shape{200, 130, 1300, true, false},
                           Shape{2, 100, 3000, false, false}, Shape{3, 200, 1000, true, false}}) {
        std::vector<float> a((size_t)(s.m * s.k)), b((size_t)(s.n * s.k));
        for (auto& e : a) e = u(rng);
        for (auto& e : b) e = u(rng);
        const auto out = results_per_thread_count(s, a, b);
        EXPECT_EQ(out[0], out[1]) << "m=" << s.m;
        EXPECT_EQ(out[0], out[2]) << "m=" << s.m;
    }
}

// Every packed layout (groups of 1, 2 and 4 panels; this CPU's own is one of them), with the best and (where it is
// another one) the portable kernel: the float64 reference over every shape, and the same bits as groups of 4 (the same chains of multiply-adds,
// only B's addresses differ), on 1 and 3 threads and walking the columns both ways.
TEST(PackedGemm, EveryPackedLayoutMatchesFloat64AndGivesTheSameBits) {
    std::vector<std::vector<float>> by_group4;
    for (int64_t group : {4, 1, 2}) {
        hpc::cpu::packed_gemm_group_panels(group);
        ASSERT_EQ(hpc::cpu::packed_group_panels(), group);
        std::string checked;
        for (bool best : {true, false}) {  // the portable block where it differs from the best (AVX-512 CPUs)
            hpc::cpu::packed_gemm_use_best(best);
            const std::string name = hpc::cpu::packed_gemm_kernel_name();
            if (name == checked) continue;
            check_all((name + " group " + std::to_string(group)).c_str());
            checked = name;
        }
        hpc::cpu::packed_gemm_use_best(true);
        size_t i = 0;
        uint64_t seed = 40;
        for (const Shape& s : {Shape{16, 1000, 256, false, true}, Shape{3, 1543, 512, false, false}, Shape{1, 200, 300, false, true},
                               Shape{200, 130, 1300, true, false}, Shape{130, 200, 2100, false, false}, Shape{64, 48, 700, false, false}}) {
            const auto [a, b] = random_operands(s, seed++);
            for (int threads : {1, 3})
                for (bool reverse : {false, true}) {
                    if (reverse && s.ta) continue;
                    team_set_size(threads);
                    std::vector<float> c((size_t)(s.m * s.n)), pack;
                    if (reverse) {  // a step's product walking its part of a packed B last piece first
                        const float* packed = hpc::cpu::pack_b(b.data(), s.tb ? s.k : s.n, s.tb, s.k, s.n, pack);
                        hpc::cpu::gemm_packed(s.m, s.k, s.n, a.data(), s.k, 1, packed, c.data(), s.n, false, nullptr, true);
                    } else {
                        gemm_f32(s.ta, s.tb, s.m, s.n, s.k, a.data(), s.ta ? s.m : s.k, b.data(), s.tb ? s.k : s.n, false, c.data(), s.n,
                                 pack);
                    }
                    if (group == 4) by_group4.push_back(c);
                    else
                        EXPECT_EQ(c, by_group4.at(i))
                            << "group " << group << " m=" << s.m << " threads " << threads << " reverse " << reverse;
                    ++i;
                }
        }
    }
    team_set_size(0);
    hpc::cpu::packed_gemm_group_panels(0);
}

// Reading B in place and reading it packed give the same bits (same operations in the same order).
TEST(PackedGemm, InPlaceEqualsPacked) {
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 300}, {16, 1024, 256}, {40, 32, 1500}}) {
        const int64_t ldb = n + 3;  // a leading dimension wider than the matrix
        std::vector<float> a((size_t)(m * k)), b((size_t)(k * ldb)), pack;
        for (auto& e : a) e = u(rng);
        for (auto& e : b) e = u(rng);
        std::vector<float> c1((size_t)(m * n)), c2(c1.size()), c3(c1.size());
        const float* packed = hpc::cpu::pack_b(b.data(), ldb, false, k, n, pack);
        hpc::cpu::gemm_packed(m, k, n, a.data(), k, 1, packed, c1.data(), n, false);
        hpc::cpu::gemm_in_place(m, k, n, a.data(), k, 1, b.data(), ldb, c2.data(), n, false, false);
        hpc::cpu::gemm_in_place(m, k, n, a.data(), k, 1, b.data(), ldb, c3.data(), n, false, true);
        EXPECT_EQ(c1, c2) << "m=" << m;
        EXPECT_EQ(c1, c3) << "m=" << m;
    }
}

// A transposed A (the weight gradients dG^T X) over a row-major B of whole panels reads B in place (AVX-512; with the
// other kernels both calls pack B): the same bits as B packed, on 1 and 2 threads, k in one block and in blocks, with
// and without a bias.
TEST(PackedGemm, TransposedAReadsBInPlaceLikePacked) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int threads : {1, 2})
        for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{512, 128, 1600}, {200, 64, 2300}, {64, 32, 300}, {130, 16, 1030}}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " m " + std::to_string(m) + " n " + std::to_string(n) +
                         " k " + std::to_string(k));
            team_set_size(threads);
            const int64_t ldb = n + 16;  // a leading dimension wider than the matrix
            std::vector<float> a((size_t)(k * m)), b((size_t)(k * ldb)), bias((size_t)n), pack1, pack2;
            for (auto& e : a) e = u(rng);
            for (auto& e : b) e = u(rng);
            for (auto& e : bias) e = u(rng);
            for (const float* bs : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
                std::vector<float> c1((size_t)(m * n)), c2(c1.size());
                gemm_f32(true, false, m, n, k, a.data(), m, b.data(), ldb, false, c1.data(), n, pack1, bs);
                const float* packed = hpc::cpu::pack_b(b.data(), ldb, false, k, n, pack2);
                hpc::cpu::gemm_f32_packed(true, m, n, k, a.data(), m, packed, false, c2.data(), n, bs);
                EXPECT_EQ(c1, c2);
            }
        }
    team_set_size(0);
}

// B packed from two row ranges of different matrices (pack_b_two: h0's rows, then the layer outputs', each with its
// own leading dimension; gemm_f32_ta_two for a transposed A, the weight gradient's) gives the same product, bit for
// bit, as the rows copied together and packed by gemm_f32; a large B (non-temporal stores) and a tail panel, the
// split anywhere, a transposed A and a row-major one, 1 and 2 threads, B packed whole and by k block (the split inside
// a block and at a block's start).
TEST(PackedGemm, TwoPartPackingEqualsOnePiece) {
    std::mt19937_64 rng(8);
    std::uniform_real_distribution<float> u(-1, 1);
    for (double block_min : {-1.0, 0.0})
    for (double copy_min : {-1.0, 0.0})
    for (int threads : {1, 2})
        for (auto [m, n, k0, k1, ta] : {std::tuple<int64_t, int64_t, int64_t, int64_t, bool>{48, 20, 4, 46, true},
                                        {300, 1100, 16, 1184, true}, {70, 64, 1, 0, true}, {90, 130, 0, 33, false},
                                        {64, 1024, 1000, 17, false}, {80, 40, 300, 1500, true}, {80, 40, 1024, 500, true},
                                        {80, 40, 1800, 0, true}, {80, 40, 0, 1300, true},
                                        // whole panels under a transposed A: B read in place where a k block lies in one
                                        // part (the block that straddles the split packed; a split at a block's start;
                                        // one part empty; a layer's first B rows, either end)
                                        {80, 48, 300, 1500, true}, {80, 64, 1024, 500, true}, {80, 32, 1800, 0, true},
                                        {80, 32, 0, 1300, true}, {96, 16, 64, 2000, true}, {96, 16, 2000, 64, true}}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " m " + std::to_string(m) + " n " + std::to_string(n) +
                         " k0 " + std::to_string(k0) + " by block " + std::to_string(block_min == 0) + " A copied " +
                         std::to_string(copy_min == 0));
            hpc::cpu::packed_gemm_block_b_min_bytes(block_min);
            hpc::cpu::packed_gemm_copy_a_min_output(copy_min);
            team_set_size(threads);
            const int64_t k = k0 + k1, ld0 = n, ld1 = 2 * n + 5, lda = ta ? m : k;
            std::vector<float> src0((size_t)(k0 * ld0 + 1)), src1((size_t)(k1 * ld1 + 1)), b((size_t)(k * n)), a((size_t)(m * k));
            for (auto& e : src0) e = u(rng);
            for (auto& e : src1) e = u(rng);
            for (auto& e : a) e = u(rng);
            for (int64_t r = 0; r < k; ++r)
                for (int64_t j = 0; j < n; ++j) b[(size_t)(r * n + j)] = r < k0 ? src0[(size_t)(r * ld0 + j)] : src1[(size_t)((r - k0) * ld1 + j)];
            std::vector<float> pack1, pack2, c1((size_t)(m * n), 7.0f), c2(c1);
            gemm_f32(ta, false, m, n, k, a.data(), lda, b.data(), n, true, c1.data(), n, pack1);
            if (ta) {
                hpc::cpu::gemm_f32_ta_two(m, n, a.data(), lda, src0.data(), ld0, k0, src1.data(), ld1, k1, true, c2.data(), n, pack2);
            } else {
                const float* packed = hpc::cpu::pack_b_two(src0.data(), ld0, k0, src1.data(), ld1, k1, n, pack2);
                hpc::cpu::gemm_f32_packed(ta, m, n, k, a.data(), lda, packed, true, c2.data(), n);
            }
            EXPECT_EQ(c1, c2);
        }
    team_set_size(0);
    hpc::cpu::packed_gemm_block_b_min_bytes(-1);
    hpc::cpu::packed_gemm_copy_a_min_output(-1);
}

// A step's product may walk its part of the weights last piece first (`reverse`, every other step of a layer, where
// a thread's part exceeds half an L2): the same bits as the forward walk, for the dot products, the packed and the
// in-place kernels, 1 and 2 threads, with column / row counts that leave ragged last pieces.
TEST(PackedGemm, ReverseWalkGivesTheSameBits) {
    std::mt19937_64 rng(6);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int threads : {1, 2})
        for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1000, 700}, {3, 1543, 512}, {5, 2048, 300}}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " m " + std::to_string(m) + " n " + std::to_string(n));
            team_set_size(threads);
            std::vector<float> a((size_t)(m * k)), w((size_t)(n * k)), b((size_t)(k * n)), pack;
            for (auto& e : a) e = u(rng);
            for (auto& e : w) e = u(rng);
            for (auto& e : b) e = u(rng);
            std::vector<float> c1((size_t)(m * n)), c2(c1.size());
            hpc::cpu::gemm_dot(m, k, n, a.data(), k, w.data(), k, c1.data(), n, false, false, nullptr, false);
            hpc::cpu::gemm_dot(m, k, n, a.data(), k, w.data(), k, c2.data(), n, false, false, nullptr, true);
            EXPECT_EQ(c1, c2);
            const float* packed = hpc::cpu::pack_b(b.data(), n, false, k, n, pack);
            hpc::cpu::gemm_packed(m, k, n, a.data(), k, 1, packed, c1.data(), n, false, nullptr, false);
            hpc::cpu::gemm_packed(m, k, n, a.data(), k, 1, packed, c2.data(), n, false, nullptr, true);
            EXPECT_EQ(c1, c2);
            if (n % 16 == 0) {
                hpc::cpu::gemm_in_place(m, k, n, a.data(), k, 1, b.data(), n, c2.data(), n, false, false, nullptr, true);
                EXPECT_EQ(c1, c2);
            }
        }
    team_set_size(0);
}

TEST(ThreadTeam, RunsEveryChunkOnceAndServesConcurrentCallers) {
    // Several threads use the team at once: one holds it, the others run their chunks alone; every chunk of every
    // section runs exactly once, with one worker (claiming from the last chunk down while the caller claims from the
    // first up) and with two (both from the top).
    for (int size : {2, 3}) {
        team_set_size(size);
        constexpr int kCallers = 4, kSections = 2000, kChunks = 7;
        std::vector<std::thread> callers;
        std::atomic<int> bad{0};
        for (int t = 0; t < kCallers; ++t)
            callers.emplace_back([&] {
                for (int s = 0; s < kSections; ++s) {
                    std::atomic<int> hits[kChunks] = {};
                    hpc::cpu::team_for(kChunks, [&](int c, int n) {
                        if (n != kChunks || c < 0 || c >= n) bad++;
                        else hits[c]++;
                    });
                    for (auto& h : hits)
                        if (h.load() != 1) bad++;
                }
            });
        for (auto& c : callers) c.join();
        EXPECT_EQ(bad.load(), 0) << size << " threads";
    }
    team_set_size(0);
}

TEST(ThreadTeam, ShareCoversTheRangeInUnits) {
    for (int64_t total : {0, 1, 5, 16, 17, 100})
        for (int64_t unit : {1, 2, 4, 6})
            for (int parts : {1, 2, 3, 8}) {
                int64_t next = 0;
                for (int c = 0; c < parts; ++c) {
                    const auto [lo, hi] = hpc::cpu::team_share(total, unit, c, parts);
                    EXPECT_EQ(lo, next);
                    EXPECT_LE(lo, hi);
                    if (hi < total) EXPECT_EQ(hi % unit, 0);
                    next = hi;
                }
                EXPECT_EQ(next, total);
            }
}

}  // namespace
