// Optimizer steps, clipping and GEMM through the ABI: hand-computed values and argument validation.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace {

hpc_optim_hparams defaults() {
    hpc_optim_hparams h{};
    h.lr = 0.1;
    h.alpha = 0.99;
    h.beta1 = 0.9;
    h.beta2 = 0.999;
    h.eps = 1e-8;
    return h;
}

TEST(Train, SgdWithMomentumFollowsPyTorchsRule) {
    std::vector<double> p{1.0, -2.0}, g{0.5, 0.25}, buf(2);
    void* ps[] = {p.data()};
    void* gs[] = {g.data()};
    void* bs[] = {buf.data()};
    int64_t len = 2;
    auto h = defaults();
    h.momentum = 0.9;
    ASSERT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 1, 1, ps, gs, bs, nullptr, &len), HPC_OK) << last_error();
    EXPECT_DOUBLE_EQ(p[0], 1.0 - 0.1 * 0.5);  // step 1: buf = grad
    ASSERT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 2, 1, ps, gs, bs, nullptr, &len), HPC_OK);
    EXPECT_DOUBLE_EQ(buf[0], 0.9 * 0.5 + 0.5);
    EXPECT_DOUBLE_EQ(p[0], 1.0 - 0.05 - 0.1 * 0.95);
}

TEST(Train, ClipGradNormReturnsTheNormAndScales) {
    std::vector<float> a{3, 0}, b{0, 4};
    void* gs[] = {a.data(), b.data()};
    int64_t lens[] = {2, 2};
    double norm = 0;
    ASSERT_EQ(hpc_clip_grad_norm(HPC_DTYPE_FLOAT32, 2, gs, lens, 1.0, 2.0, &norm), HPC_OK);
    EXPECT_DOUBLE_EQ(norm, 5.0);
    EXPECT_NEAR(a[0], 3.0 / (5.0 + 1e-6), 1e-7);
    EXPECT_NEAR(b[1], 4.0 / (5.0 + 1e-6), 1e-7);
    ASSERT_EQ(hpc_clip_grad_norm(HPC_DTYPE_FLOAT32, 2, gs, lens, 10.0, INFINITY, &norm), HPC_OK);
    EXPECT_NEAR(norm, 4.0 / (5.0 + 1e-6), 1e-7);  // below max_norm: unchanged
    EXPECT_NEAR(b[1], 4.0 / (5.0 + 1e-6), 1e-7);
    ASSERT_EQ(hpc_clip_grad_value(HPC_DTYPE_FLOAT32, 2, gs, lens, 0.5), HPC_OK);
    EXPECT_EQ(a[0], 0.5f);
    EXPECT_EQ(a[1], 0.0f);
}

TEST(Train, GemmMatchesANaiveProduct) {
    const int64_t M = 3, N = 4, K = 5;
    std::mt19937_64 rng(1);
    auto a = random_vec<double>(M * K, rng), b = random_vec<double>(N * K, rng);
    std::vector<double> c(M * N, 1.0);
    ASSERT_EQ(hpc_gemm(HPC_DTYPE_FLOAT64, 0, 1, M, N, K, 2.0, a.data(), M * K, K, b.data(), N * K, K, 0.5, c.data(), M * N, N), HPC_OK);
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t q = 0; q < K; ++q) s += a[i * K + q] * b[j * K + q];
            EXPECT_NEAR(c[i * N + j], 2 * s + 0.5, 1e-12);
        }
}

// float32 through hpc_gemm (HPC's own kernel for alpha = 1, beta = 0 or 1; BLAS otherwise) and hpc_gemm_blas, every
// transpose combination, against a float64 loop.
TEST(Train, Float32GemmEntryPointsMatchANaiveProduct) {
    const int64_t M = 19, N = 37, K = 300;
    std::mt19937_64 rng(2);
    auto a = random_vec<float>(M * K, rng), b = random_vec<float>(N * K, rng);
    for (bool blas : {false, true})
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb)
                for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {1.0, 1.0}, {0.5, -2.0}}) {
                    std::vector<float> c(M * N, 0.25f);
                    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
                    auto f = blas ? hpc_gemm_blas : hpc_gemm;
                    ASSERT_EQ(f(HPC_DTYPE_FLOAT32, ta, tb, M, N, K, alpha, a.data(), M * K, lda, b.data(), N * K, ldb, beta,
                                c.data(), M * N, N), HPC_OK) << last_error();
                    for (int64_t i = 0; i < M; ++i)
                        for (int64_t j = 0; j < N; ++j) {
                            double s = 0;
                            for (int64_t q = 0; q < K; ++q)
                                s += (double)(ta ? a[q * lda + i] : a[i * lda + q]) * (tb ? b[j * ldb + q] : b[q * ldb + j]);
                            ASSERT_NEAR(c[i * N + j], alpha * s + beta * 0.25, 2e-5)
                                << "blas=" << blas << " ta=" << ta << " tb=" << tb << " alpha=" << alpha << " beta=" << beta;
                        }
                }
}

TEST(Train, ValidationNamesTheBadArgument) {
    std::vector<double> p{1}, g{1}, s{0}, s2{0};
    void* ps[] = {p.data()};
    void* gs[] = {g.data()};
    void* ss[] = {s.data()};
    int64_t len = 1;
    auto h = defaults();
    h.lr = -0.1;
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 1, 1, ps, gs, nullptr, nullptr, &len), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("hparams->lr: expected a value in [0, inf], got -0.1"), std::string::npos);
    h = defaults();
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_ADAM, HPC_DTYPE_FLOAT64, &h, 1, 1, ps, gs, ss, nullptr, &len), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("state2 is NULL"), std::string::npos);
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 0, 1, ps, gs, nullptr, nullptr, &len), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 1, 0, ps, gs, nullptr, nullptr, &len), HPC_ERR_INVALID_ARGUMENT);
    h.nesterov = 1;
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 1, 1, ps, gs, nullptr, nullptr, &len), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("Nesterov"), std::string::npos);
    h = defaults();
    h.beta1 = 1.0;
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_ADAMW, HPC_DTYPE_FLOAT64, &h, 1, 1, ps, gs, ss, ss, &len), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(p[0], 1.0);  // nothing written
    h = defaults();
    std::vector<double> big(4, 0.0);
    void* pb[] = {big.data()};
    void* sb[] = {big.data() + 1};  // the momentum buffer overlaps the parameters
    int64_t two = 2;
    h.momentum = 0.9;
    void* gb[] = {g.data()};
    std::vector<double> g2(2, 1.0);
    gb[0] = g2.data();
    EXPECT_EQ(hpc_optim_step(HPC_OPTIM_SGD, HPC_DTYPE_FLOAT64, &h, 1, 1, pb, gb, sb, nullptr, &two), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("params[0] overlaps state1[0]"), std::string::npos) << last_error();
    double norm;
    void* nul[] = {nullptr};
    EXPECT_EQ(hpc_clip_grad_norm(HPC_DTYPE_FLOAT64, 1, nul, &len, 1.0, 2.0, &norm), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_clip_grad_norm(HPC_DTYPE_FLOAT64, 1, gs, &len, -1.0, 2.0, &norm), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_clip_grad_norm(HPC_DTYPE_FLOAT64, 1, gs, &len, 1.0, 1.0, &norm), HPC_ERR_INVALID_ARGUMENT);
    std::vector<double> a(6), b(6), c(4);
    EXPECT_EQ(hpc_gemm(HPC_DTYPE_FLOAT64, 0, 0, 2, 2, 3, 1.0, a.data(), 5, 3, b.data(), 6, 2, 0.0, c.data(), 4, 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("a_len: expected >= 6 elements"), std::string::npos);
    EXPECT_EQ(hpc_gemm(HPC_DTYPE_FLOAT64, 0, 0, 2, 2, 3, 1.0, a.data(), 6, 2, b.data(), 6, 2, 0.0, c.data(), 4, 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_gemm(HPC_DTYPE_FLOAT64, 0, 0, 2, 2, 3, 1.0, a.data(), 6, 3, b.data(), 6, 2, 0.0, a.data(), 4, 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("overlaps"), std::string::npos);
    // Both float32 entry points (HPC's kernel and the BLAS) validate the same way before any arithmetic, naming
    // themselves and the argument; C is left untouched.
    std::vector<float> fa(6), fb(6), fc(4, 7.0f);
    for (auto [f, name] : {std::pair{hpc_gemm, "hpc_gemm:"}, {hpc_gemm_blas, "hpc_gemm_blas:"}}) {
        EXPECT_EQ(f(HPC_DTYPE_FLOAT32, 0, 1, 2, 2, 3, 1.0, fa.data(), 6, 3, fb.data(), 5, 3, 0.0, fc.data(), 4, 2),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(last_error().rfind(name, 0), 0u) << last_error();
        EXPECT_NE(last_error().find("b_len: expected >= 6 elements"), std::string::npos) << last_error();
        EXPECT_EQ(f(HPC_DTYPE_FLOAT32, 0, 0, 2, 0, 3, 1.0, fa.data(), 6, 3, fb.data(), 6, 2, 0.0, fc.data(), 4, 2),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("n: expected 1.."), std::string::npos) << last_error();
        EXPECT_EQ(f(HPC_DTYPE_FLOAT32, 0, 0, 2, 2, 3, 1.0, fa.data(), 6, 3, fb.data(), 6, 2, 0.0, fa.data(), 4, 2),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("overlaps"), std::string::npos) << last_error();
        EXPECT_EQ(fc, std::vector<float>(4, 7.0f));
    }
}

}  // namespace
