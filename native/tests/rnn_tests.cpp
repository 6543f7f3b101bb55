// Numerical checks of the CPU kernels through the ABI: gradients against central finite differences (float64),
// float32 against float64, batch-first against time-major, accumulate semantics. Run under ASan in CI, these
// also exercise every buffer of every cell, layer count and direction for out-of-bounds access.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"
#include "../src/cpu/rnn_cpu.h"

namespace {

struct Case {
    int32_t cell;
    int64_t layers;
    bool bi;
    bool batch_first;
    bool with_state;
};

std::string name_of(const Case& c) {
    return std::to_string(c.cell) + "_L" + std::to_string(c.layers) + (c.bi ? "_bi" : "_uni") +
           (c.batch_first ? "_bf" : "_tm") + (c.with_state ? "_state" : "");
}

template <typename T>
struct Net {
    hpc_rnn_desc desc;
    hpc_rnn* rnn = nullptr;
    int64_t B, Tn, n_params = 0, nx, ny, ns;
    Net(const Case& c, int64_t I, int64_t H, int64_t B_, int64_t T_)
        : desc(make_desc(c.cell, sizeof(T) == 4 ? HPC_DTYPE_FLOAT32 : HPC_DTYPE_FLOAT64, I, H, c.layers, c.bi,
                         c.batch_first)),
          B(B_), Tn(T_) {
        int64_t nt;
        EXPECT_EQ(hpc_rnn_create(&desc, &rnn), HPC_OK);
        EXPECT_EQ(hpc_rnn_param_layout(&desc, &nt, &n_params), HPC_OK);
        const int64_t D = c.bi ? 2 : 1;
        nx = B * T_ * I;
        ny = B * T_ * D * H;
        ns = c.layers * D * B * H;
    }
    ~Net() { hpc_rnn_destroy(rnn); }
    // Loss = sum(y*gy) + sum(hn*gh) + sum(cn*gc)
    double loss(const std::vector<T>& x, const std::vector<T>& p, const std::vector<T>* h0, const std::vector<T>* c0,
                const std::vector<T>& gy, const std::vector<T>& gh, const std::vector<T>& gc, bool training = false) {
        std::vector<T> y((size_t)ny), hn((size_t)ns), cn((size_t)ns);
        const bool c = has_c(desc.cell);
        int32_t rc = hpc_rnn_forward(rnn, training, B, Tn, x.data(), nx, p.data(), n_params, h0 ? h0->data() : nullptr,
                                     h0 ? ns : 0, c0 && c ? c0->data() : nullptr, c0 && c ? ns : 0, y.data(), ny,
                                     hn.data(), ns, c ? cn.data() : nullptr, c ? ns : 0);
        EXPECT_EQ(rc, HPC_OK) << last_error();
        double s = 0;
        for (int64_t i = 0; i < ny; ++i) s += (double)y[i] * gy[i];
        for (int64_t i = 0; i < ns; ++i) s += (double)hn[i] * gh[i] + (c ? (double)cn[i] * gc[i] : 0.0);
        return s;
    }
};

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck, AnalyticGradientsMatchCentralDifferences) {
    const Case c = GetParam();
    std::mt19937_64 rng(42 + c.cell * 7 + c.layers);
    const int64_t I = 3, H = 4, B = 2, T = 3;
    Net<double> net(c, I, H, B, T);
    auto x = random_vec<double>((size_t)net.nx, rng), p = random_vec<double>((size_t)net.n_params, rng, 0.6);
    auto h0 = random_vec<double>((size_t)net.ns, rng), c0 = random_vec<double>((size_t)net.ns, rng);
    auto gy = random_vec<double>((size_t)net.ny, rng), gh = random_vec<double>((size_t)net.ns, rng),
         gc = random_vec<double>((size_t)net.ns, rng);
    const bool cs = has_c(c.cell);
    const auto* ph0 = c.with_state ? &h0 : nullptr;
    const auto* pc0 = c.with_state ? &c0 : nullptr;

    net.loss(x, p, ph0, pc0, gy, gh, gc, true);
    std::vector<double> dx((size_t)net.nx), dh0((size_t)net.ns), dc0((size_t)net.ns), dp((size_t)net.n_params, 99.0);
    ASSERT_EQ(hpc_rnn_backward(net.rnn, x.data(), net.nx, p.data(), net.n_params, gy.data(), net.ny, gh.data(),
                               net.ns, cs ? gc.data() : nullptr, cs ? net.ns : 0, dx.data(), net.nx, dh0.data(),
                               net.ns, cs ? dc0.data() : nullptr, cs ? net.ns : 0, dp.data(), net.n_params, 0, nullptr, 0),
              HPC_OK)
        << last_error();

    auto check = [&](const char* what, std::vector<double>& v, const std::vector<double>& grad) {
        for (size_t i = 0; i < v.size(); ++i) {
            const double keep = v[i], e = 1e-6;
            v[i] = keep + e;
            const double lp = net.loss(x, p, ph0, pc0, gy, gh, gc);
            v[i] = keep - e;
            const double lm = net.loss(x, p, ph0, pc0, gy, gh, gc);
            v[i] = keep;
            const double fd = (lp - lm) / (2 * e);
            ASSERT_NEAR(grad[i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << what << "[" << i << "]";
        }
    };
    check("x", x, dx);
    check("params", p, dp);
    if (c.with_state) {
        check("h0", h0, dh0);
        if (cs) check("c0", c0, dc0);
    }
}

std::vector<Case> all_cases() {
    std::vector<Case> v;
    for (int32_t cell : {HPC_CELL_RNN_TANH, HPC_CELL_RNN_RELU, HPC_CELL_LSTM, HPC_CELL_LSTM_PEEPHOLE, HPC_CELL_GRU})
        for (int64_t layers : {1, 2})
            for (bool bi : {false, true})
                for (bool bf : {false, true}) v.push_back({cell, layers, bi, bf, (layers + bi + bf) % 2 == 0});
    v.push_back({HPC_CELL_LSTM_PEEPHOLE, 3, true, true, true});
    v.push_back({HPC_CELL_GRU, 3, true, false, true});
    return v;
}

INSTANTIATE_TEST_SUITE_P(AllCells, GradientCheck, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return name_of(i.param); });

TEST(RnnKernels, Float32AgreesWithFloat64) {
    for (const Case& c : all_cases()) {
        std::mt19937_64 rng(7);
        Net<double> n64(c, 5, 6, 3, 4);
        Net<float> n32(c, 5, 6, 3, 4);
        auto x = random_vec<double>((size_t)n64.nx, rng), p = random_vec<double>((size_t)n64.n_params, rng, 0.4);
        auto gy = random_vec<double>((size_t)n64.ny, rng), gh = random_vec<double>((size_t)n64.ns, rng);
        std::vector<float> xf(x.begin(), x.end()), pf(p.begin(), p.end()), gyf(gy.begin(), gy.end()),
            ghf(gh.begin(), gh.end());
        const double a = n64.loss(x, p, nullptr, nullptr, gy, gh, gh);
        const double b = n32.loss(xf, pf, nullptr, nullptr, gyf, ghf, ghf);
        EXPECT_NEAR(a, b, 1e-4 * std::max(1.0, std::fabs(a))) << name_of(c);
    }
}

TEST(RnnKernels, BatchFirstEqualsTimeMajor) {
    for (int32_t cell : {HPC_CELL_LSTM, HPC_CELL_GRU}) {
        const int64_t I = 3, H = 2, B = 3, T = 4;
        Net<double> bf({cell, 2, true, true, false}, I, H, B, T), tm({cell, 2, true, false, false}, I, H, B, T);
        std::mt19937_64 rng(3);
        auto x = random_vec<double>((size_t)bf.nx, rng), p = random_vec<double>((size_t)bf.n_params, rng);
        std::vector<double> xt(x.size()), y1((size_t)bf.ny), y2((size_t)bf.ny);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t i = 0; i < I; ++i) xt[(t * B + b) * I + i] = x[(b * T + t) * I + i];
        ASSERT_EQ(hpc_rnn_forward(bf.rnn, 0, B, T, x.data(), bf.nx, p.data(), bf.n_params, nullptr, 0, nullptr, 0,
                                  y1.data(), bf.ny, nullptr, 0, nullptr, 0), HPC_OK);
        ASSERT_EQ(hpc_rnn_forward(tm.rnn, 0, B, T, xt.data(), tm.nx, p.data(), tm.n_params, nullptr, 0, nullptr, 0,
                                  y2.data(), tm.ny, nullptr, 0, nullptr, 0), HPC_OK);
        const int64_t C = 2 * H;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t j = 0; j < C; ++j) EXPECT_EQ(y1[(b * T + t) * C + j], y2[(t * B + b) * C + j]);
    }
}

// The bias gradients are column sums over the T*B rows, summed in chunks of rows on the team when there are enough of
// them (bias_grads in rnn_cpu.cpp): here by central differences at sizes that take that path (float64, 640 rows,
// more than 1 MB of gate gradients; GRU's two sums and the others' one, both directions), every ninth bias entry, then
// accumulated onto existing gradients (which must double them).
TEST(RnnKernels, BiasGradientsOfManyRowsMatchCentralDifferences) {
    for (const auto& [c, H] : {std::pair<Case, int64_t>{{HPC_CELL_GRU, 1, true, false, true}, 48},
                                {{HPC_CELL_LSTM, 1, false, true, false}, 64},
                                {{HPC_CELL_RNN_TANH, 1, true, false, false}, 200}}) {
        SCOPED_TRACE(name_of(c));
        const int64_t I = 3, B = 8, T = 80;
        Net<double> net(c, I, H, B, T);
        std::mt19937_64 rng(21);
        // Small weights: 80 steps of H 200 with larger ones make the tanh layer's gradients explode (1e7), past
        // what central differences resolve.
        auto x = random_vec<double>((size_t)net.nx, rng), p = random_vec<double>((size_t)net.n_params, rng, 0.1);
        auto h0 = random_vec<double>((size_t)net.ns, rng), gy = random_vec<double>((size_t)net.ny, rng);
        const auto* ph0 = c.with_state ? &h0 : nullptr;
        const std::vector<double> none((size_t)net.ns, 0.0);  // no loss on the final states
        net.loss(x, p, ph0, nullptr, gy, none, none, true);
        std::vector<double> dp((size_t)net.n_params);
        auto bwd = [&](int acc) {
            return hpc_rnn_backward(net.rnn, x.data(), net.nx, p.data(), net.n_params, gy.data(), net.ny, nullptr, 0, nullptr,
                                    0, nullptr, 0, nullptr, 0, nullptr, 0, dp.data(), net.n_params, acc, nullptr, 0);
        };
        ASSERT_EQ(bwd(0), HPC_OK) << last_error();
        int64_t tensors = 0, total = 0;
        ASSERT_EQ(hpc_rnn_param_layout(&net.desc, &tensors, &total), HPC_OK);
        std::vector<int64_t> bias_entries;
        for (int64_t t = 0; t < tensors; ++t) {
            char name[64];
            int64_t offset = 0, shape[2];
            int32_t rank = 0;
            ASSERT_EQ(hpc_rnn_param_info(&net.desc, t, name, sizeof name, &offset, &rank, shape), HPC_OK);
            if (std::string(name).rfind("bias_", 0) == 0)  // every 9th entry and the last of each bias
                for (int64_t j = 0; j < shape[0]; ++j)
                    if (j % 9 == 0 || j == shape[0] - 1) bias_entries.push_back(offset + j);
        }
        const int64_t biases = (c.bi ? 2 : 1) * 2, per_bias = (c.cell == HPC_CELL_GRU ? 3 : c.cell == HPC_CELL_LSTM ? 4 : 1) * H;
        ASSERT_EQ((int64_t)bias_entries.size(), biases * ((per_bias + 8) / 9 + ((per_bias - 1) % 9 != 0 ? 1 : 0)));
        for (int64_t i : bias_entries) {
            const double keep = p[(size_t)i], e = 1e-6;
            p[(size_t)i] = keep + e;
            const double lp = net.loss(x, p, ph0, nullptr, gy, none, none);
            p[(size_t)i] = keep - e;
            const double lm = net.loss(x, p, ph0, nullptr, gy, none, none);
            p[(size_t)i] = keep;
            const double fd = (lp - lm) / (2 * e);
            ASSERT_NEAR(dp[(size_t)i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << "param " << i;
        }
        net.loss(x, p, ph0, nullptr, gy, none, none, true);
        const std::vector<double> once = dp;
        ASSERT_EQ(bwd(1), HPC_OK) << last_error();
        for (int64_t i : bias_entries)
            ASSERT_NEAR(dp[(size_t)i], 2 * once[(size_t)i], 1e-12 * (1 + std::fabs(once[(size_t)i]))) << "param " << i;
    }
}

TEST(RnnKernels, AccumulateAddsToExistingGradients) {
    Case c{HPC_CELL_GRU, 2, true, true, false};
    Net<double> net(c, 2, 3, 2, 3);
    std::mt19937_64 rng(5);
    auto x = random_vec<double>((size_t)net.nx, rng), p = random_vec<double>((size_t)net.n_params, rng);
    auto gy = random_vec<double>((size_t)net.ny, rng);
    net.loss(x, p, nullptr, nullptr, gy, gy, gy, true);
    std::vector<double> once((size_t)net.n_params, 5.0), twice((size_t)net.n_params);
    auto bwd = [&](std::vector<double>& dp, int acc) {
        return hpc_rnn_backward(net.rnn, x.data(), net.nx, p.data(), net.n_params, gy.data(), net.ny, nullptr, 0,
                                nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0, dp.data(), net.n_params, acc, nullptr, 0);
    };
    ASSERT_EQ(bwd(once, 0), HPC_OK);
    twice = once;
    ASSERT_EQ(bwd(twice, 1), HPC_OK);
    for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice[i], 2 * once[i], 1e-12 * (1 + std::fabs(once[i])));
}

}  // namespace

namespace {

// Checkpointed BPTT (every k steps) against the plain path: identical bits for every cell, layer count, direction
// and layout; under ASan this also covers the segment buffers.
TEST(RnnKernels, CheckpointedBackwardIsBitIdentical) {
    for (const Case& c : all_cases()) {
        for (int64_t k : {1, 2, 3, 5}) {
            std::mt19937_64 rng(99);
            const int64_t I = 3, H = 4, B = 2, T = 7;
            Net<double> a(c, I, H, B, T), b(c, I, H, B, T);
            ASSERT_EQ(hpc_rnn_set_checkpointing(b.rnn, k), HPC_OK);
            auto x = random_vec<double>((size_t)a.nx, rng), p = random_vec<double>((size_t)a.n_params, rng, 0.6);
            auto h0 = random_vec<double>((size_t)a.ns, rng), gy = random_vec<double>((size_t)a.ny, rng);
            const bool cs = has_c(c.cell);
            auto run = [&](Net<double>& n, std::vector<double>& dp, std::vector<double>& dx, std::vector<double>& dh0, std::vector<double>& top) {
                n.loss(x, p, &h0, &h0, gy, gy, gy, true);
                return hpc_rnn_backward(n.rnn, x.data(), n.nx, p.data(), n.n_params, gy.data(), n.ny, h0.data(), n.ns,
                                        cs ? h0.data() : nullptr, cs ? n.ns : 0, dx.data(), n.nx, dh0.data(), n.ns, nullptr, 0,
                                        dp.data(), n.n_params, 0, top.data(), n.ny);
            };
            std::vector<double> p1((size_t)a.n_params), p2(p1.size()), x1((size_t)a.nx), x2(x1.size()), h1((size_t)a.ns), h2(h1.size()),
                t1((size_t)a.ny), t2(t1.size());
            ASSERT_EQ(run(a, p1, x1, h1, t1), HPC_OK) << last_error();
            ASSERT_EQ(run(b, p2, x2, h2, t2), HPC_OK) << last_error();
            EXPECT_EQ(p1, p2) << name_of(c) << " k=" << k;
            EXPECT_EQ(x1, x2) << name_of(c) << " k=" << k;
            EXPECT_EQ(h1, h2) << name_of(c) << " k=" << k;
            EXPECT_EQ(t1, t2) << name_of(c) << " k=" << k;
        }
    }
    EXPECT_EQ(hpc_rnn_set_checkpointing(nullptr, 2), HPC_ERR_INVALID_ARGUMENT);
}

}  // namespace

namespace {

// float32 at sizes where HPC's own GEMM takes every path: rows of a step split among the threads (small W_hh),
// columns split (batch < 8), W_hh and W_ih read in place by dot products (batch 1, T <= 32, H >= 256; projections of
// <= 32 rows with I >= 256), the large products on the team, k blocks (T*B > 256), tails (sizes not multiples of 16),
// staged pointwise rows (H < 32), weight gradients whose B is packed by k block (T*B > 1024, H 600). Gradients against float64, identical bits for 1 and 2 threads, and checkpointed = plain in float32 too.
struct BigCase {
    Case c;
    int64_t I, H, B, T;
};

struct Grads {
    std::vector<double> y, dp, dx, dh0;
};

template <typename T>
Grads run_big(const BigCase& bc, int64_t checkpoint, uint64_t seed) {
    Net<T> n(bc.c, bc.I, bc.H, bc.B, bc.T);
    if (checkpoint) EXPECT_EQ(hpc_rnn_set_checkpointing(n.rnn, checkpoint), HPC_OK);
    std::mt19937_64 rng(seed);
    auto x = random_vec<double>((size_t)n.nx, rng), p = random_vec<double>((size_t)n.n_params, rng, 0.15);
    auto h0 = random_vec<double>((size_t)n.ns, rng, 0.5), gy = random_vec<double>((size_t)n.ny, rng);
    std::vector<T> xt(x.begin(), x.end()), pt(p.begin(), p.end()), h0t(h0.begin(), h0.end()), gyt(gy.begin(), gy.end());
    std::vector<T> y((size_t)n.ny), dp((size_t)n.n_params), dx((size_t)n.nx), dh0((size_t)n.ns);
    const bool cs = has_c(bc.c.cell);
    EXPECT_EQ(hpc_rnn_forward(n.rnn, 1, bc.B, bc.T, xt.data(), n.nx, pt.data(), n.n_params, h0t.data(), n.ns,
                              cs ? h0t.data() : nullptr, cs ? n.ns : 0, y.data(), n.ny, nullptr, 0, nullptr, 0), HPC_OK)
        << last_error();
    EXPECT_EQ(hpc_rnn_backward(n.rnn, xt.data(), n.nx, pt.data(), n.n_params, gyt.data(), n.ny, nullptr, 0, nullptr, 0,
                               dx.data(), n.nx, dh0.data(), n.ns, nullptr, 0, dp.data(), n.n_params, 0, nullptr, 0), HPC_OK)
        << last_error();
    return {std::vector<double>(y.begin(), y.end()), std::vector<double>(dp.begin(), dp.end()),
            std::vector<double>(dx.begin(), dx.end()), std::vector<double>(dh0.begin(), dh0.end())};
}

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        n += b[i] * b[i];
    }
    return std::sqrt(d / std::max(n, 1e-300));
}

std::vector<BigCase> big_cases() {
    return {{{HPC_CELL_LSTM, 2, true, true, true}, 37, 70, 16, 20},
            {{HPC_CELL_GRU, 1, false, false, true}, 20, 260, 2, 6},
            {{HPC_CELL_RNN_TANH, 1, true, false, true}, 16, 300, 9, 5},
            {{HPC_CELL_LSTM_PEEPHOLE, 1, false, true, true}, 8, 64, 12, 30},
            {{HPC_CELL_GRU, 2, false, true, true}, 33, 48, 40, 8},
            {{HPC_CELL_LSTM, 1, true, false, true}, 24, 40, 3, 40},
            {{HPC_CELL_GRU, 2, true, false, true}, 260, 264, 1, 6},
            // H below 32 and not a multiple of 16: the LSTM / GRU pointwise rows staged in blocks (vmath.cpp), several
            // blocks a step (H 20: 12 rows a block), one or two directions.
            {{HPC_CELL_LSTM, 1, false, false, true}, 10, 20, 32, 9},
            {{HPC_CELL_LSTM, 2, true, true, true}, 7, 13, 30, 6},
            {{HPC_CELL_GRU, 1, false, false, true}, 10, 20, 32, 9},
            {{HPC_CELL_GRU, 2, true, true, true}, 7, 10, 27, 6},
            // dW_hh's h rows packed one k block at a time (T*B > 1024 and more than 4 MB of them; dW_hh large enough
            // that its transposed A is copied into rows), both directions' row ranges (h0 first or last), a tail
            // panel (H 600).
            {{HPC_CELL_GRU, 1, true, false, true}, 16, 600, 40, 42},
            // Rows split among two threads with at least 16 each: training projects x_t step by step inside the steps
            // (projects_by_step), both directions; checkpointed training recomputes the whole-sequence projection.
            {{HPC_CELL_LSTM, 1, true, false, true}, 24, 48, 32, 10}};
}

TEST(RnnKernels, Float32OwnGemmMatchesFloat64AtLargeShapes) {
    for (const BigCase& bc : big_cases()) {
        const Grads ref = run_big<double>(bc, 0, 11);
        const Grads got = run_big<float>(bc, 0, 11);
        // float32 rounding through T steps and sums of up to T*B products: measured 1e-7 to 7e-7 relative in the
        // 2-norm; the bound leaves a margin of about 8.
        EXPECT_LT(rel_err(got.y, ref.y), 5e-6) << name_of(bc.c);
        EXPECT_LT(rel_err(got.dp, ref.dp), 5e-6) << name_of(bc.c);
        EXPECT_LT(rel_err(got.dx, ref.dx), 5e-6) << name_of(bc.c);
        EXPECT_LT(rel_err(got.dh0, ref.dh0), 5e-6) << name_of(bc.c);
    }
}

TEST(RnnKernels, Float32ResultsDoNotDependOnTheThreadCount) {
    for (const BigCase& bc : big_cases()) {
        ASSERT_EQ(hpc_set_num_threads(1), HPC_OK);
        const Grads one = run_big<float>(bc, 0, 5);
        ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
        const Grads two = run_big<float>(bc, 0, 5);
        ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
        EXPECT_EQ(one.y, two.y) << name_of(bc.c);
        EXPECT_EQ(one.dp, two.dp) << name_of(bc.c);
        EXPECT_EQ(one.dx, two.dx) << name_of(bc.c);
        EXPECT_EQ(one.dh0, two.dh0) << name_of(bc.c);
    }
}

TEST(RnnKernels, Float32CheckpointedBackwardIsBitIdentical) {
    ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
    for (const BigCase& bc : big_cases()) {
        const Grads plain = run_big<float>(bc, 0, 8);
        const Grads ckpt = run_big<float>(bc, 3, 8);
        EXPECT_EQ(plain.y, ckpt.y) << name_of(bc.c);
        EXPECT_EQ(plain.dp, ckpt.dp) << name_of(bc.c);
        EXPECT_EQ(plain.dx, ckpt.dx) << name_of(bc.c);
        EXPECT_EQ(plain.dh0, ckpt.dh0) << name_of(bc.c);
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// Random x, parameters, h0 and c0 for a network, in that order from one seeded generator.
template <typename T>
struct ForwardInputs {
    std::vector<T> x, p, h0, c0;
};
template <typename T>
ForwardInputs<T> random_forward_inputs(const Net<T>& n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    ForwardInputs<T> in;
    in.x = random_vec<T>((size_t)n.nx, rng);
    in.p = random_vec<T>((size_t)n.n_params, rng, 0.3);
    in.h0 = random_vec<T>((size_t)n.ns, rng, 0.5);
    in.c0 = random_vec<T>((size_t)n.ns, rng, 0.5);
    return in;
}

// Inference against the training forward, float32, bit for bit: inference keeps no activated gates, and on rows split
// among the threads (batch >= 32, small W_ih + W_hh) it projects x_t step by step inside the steps instead of all
// T*B rows first (rnn_cpu.cpp, projects_by_step); the packed kernel's sums do not depend on the number of rows. On
// one thread (no row split: the whole-sequence projection), on two and on three, live parameters and frozen.
TEST(RnnKernels, Float32InferenceEqualsTheTrainingForwardBitForBit) {
    const BigCase cases[] = {
        {{HPC_CELL_LSTM, 1, false, false, true}, 128, 128, 64, 6},   // projected by step, 32 rows a thread
        {{HPC_CELL_LSTM, 2, true, true, true}, 10, 20, 32, 5},       // 16 rows a thread, staged rows (H 20)
        {{HPC_CELL_GRU, 2, false, false, true}, 40, 48, 40, 4},      // uneven rows (20 a thread), layer 2 from layer 1
        {{HPC_CELL_GRU, 1, true, false, true}, 10, 10, 34, 3},       // staged GRU rows, reverse direction
        {{HPC_CELL_RNN_TANH, 1, false, true, true}, 300, 256, 32, 1},  // T*B = 32 with I >= 256: dot products, not by step
        {{HPC_CELL_RNN_TANH, 1, false, false, true}, 300, 256, 32, 2},
        {{HPC_CELL_RNN_RELU, 1, true, false, true}, 17, 33, 48, 4},  // tails (I 17, H 33)
        {{HPC_CELL_LSTM_PEEPHOLE, 1, false, false, true}, 12, 40, 32, 4},
        {{HPC_CELL_LSTM, 1, false, false, true}, 16, 32, 16, 5},     // 8 rows a thread: the whole-sequence projection
        // Projected in chunks of steps (inference_chunk_steps, its byte limit lowered below, so 512 rows a chunk):
        // several chunks, the last a partial one
        {{HPC_CELL_LSTM, 2, true, true, true}, 12, 16, 8, 150},      // 64 steps a chunk, both directions, two layers
        {{HPC_CELL_GRU, 1, true, false, true}, 5, 8, 3, 400},        // 171 steps a chunk
        {{HPC_CELL_LSTM_PEEPHOLE, 1, false, false, true}, 6, 9, 5, 120},
        {{HPC_CELL_RNN_TANH, 1, false, false, true}, 300, 64, 16, 40},  // I >= 256 over 640 rows: packed, 2 chunks
        // Batch-first: x read in place step by step (rows T*I apart) or gathered chunk by chunk, y written in
        // place (rows T*D*H apart)
        {{HPC_CELL_LSTM, 1, false, true, true}, 64, 64, 64, 5},      // step by step
        {{HPC_CELL_GRU, 2, true, true, true}, 32, 32, 64, 4},        // step by step, both directions, two layers
        {{HPC_CELL_GRU, 1, false, true, true}, 20, 24, 1, 30},       // batch 1
        {{HPC_CELL_RNN_RELU, 3, true, true, true}, 9, 11, 5, 130},   // chunks, three layers
        {{HPC_CELL_LSTM, 1, true, true, true}, 40, 48, 2, 300},      // gathered in 2 chunks
        {{HPC_CELL_RNN_TANH, 1, false, true, true}, 10, 10, 32, 5},  // x copied (5 steps), y rows T*H apart
    };
    hpc::cpu::rnn_inference_chunk_bytes(0);
    for (const BigCase& bc : cases) {
        Net<float> n(bc.c, bc.I, bc.H, bc.B, bc.T);
        const auto in = random_forward_inputs(n, 21);
        const auto &x = in.x, &p = in.p, &h0 = in.h0, &c0 = in.c0;
        const bool cs = has_c(bc.c.cell);
        struct Out {
            std::vector<float> y, hn, cn;
        };
        auto forward = [&](int training, const float* params) {
            Out o{std::vector<float>((size_t)n.ny), std::vector<float>((size_t)n.ns), std::vector<float>((size_t)n.ns)};
            EXPECT_EQ(hpc_rnn_forward(n.rnn, training, bc.B, bc.T, x.data(), n.nx, params, params ? n.n_params : 0, h0.data(),
                                      n.ns, cs ? c0.data() : nullptr, cs ? n.ns : 0, o.y.data(), n.ny, o.hn.data(), n.ns,
                                      cs ? o.cn.data() : nullptr, cs ? n.ns : 0),
                      HPC_OK)
                << last_error();
            return o;
        };
        ASSERT_EQ(hpc_set_num_threads(1), HPC_OK);
        const Out ref = forward(1, p.data());
        for (int threads : {1, 2, 3}) {
            ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
            const std::string what = name_of(bc.c) + " B" + std::to_string(bc.B) + " H" + std::to_string(bc.H) + " threads " +
                                     std::to_string(threads);
            for (int frozen : {0, 1}) {
                // Frozen W_ih is packed: where the live projection uses dot products, frozen results differ in the
                // last bits (RnnFrozenParams tests them with a tolerance).
                if (frozen && bc.B * bc.T <= 32 && bc.I >= 256) continue;
                if (frozen) ASSERT_EQ(hpc_rnn_freeze_params(n.rnn, p.data(), n.n_params), HPC_OK) << last_error();
                const Out inf = forward(0, frozen ? nullptr : p.data());
                const Out tr = forward(1, p.data());
                EXPECT_EQ(inf.y, ref.y) << what << (frozen ? " frozen" : "");
                EXPECT_EQ(inf.hn, ref.hn) << what << (frozen ? " frozen" : "");
                EXPECT_EQ(inf.cn, ref.cn) << what << (frozen ? " frozen" : "");
                EXPECT_EQ(tr.y, ref.y) << what;
                if (frozen) ASSERT_EQ(hpc_rnn_freeze_params(n.rnn, nullptr, 0), HPC_OK);
            }
        }
    }
    hpc::cpu::rnn_inference_chunk_bytes(-1);
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// float64 inference against its training forward, bit for bit, in both layouts: the same products (BLAS on a
// time-major copy of x), the output written straight into y (batch-first: rows T*D*H apart) instead of copied.
TEST(RnnKernels, Float64InferenceEqualsTheTrainingForwardBitForBit) {
    const BigCase cases[] = {
        {{HPC_CELL_LSTM, 2, true, true, true}, 6, 7, 3, 5},
        {{HPC_CELL_GRU, 1, false, true, true}, 4, 5, 2, 6},
        {{HPC_CELL_LSTM_PEEPHOLE, 1, true, false, true}, 3, 4, 3, 4},
        {{HPC_CELL_RNN_TANH, 3, false, true, true}, 5, 6, 4, 3},
    };
    for (const BigCase& bc : cases) {
        Net<double> n(bc.c, bc.I, bc.H, bc.B, bc.T);
        const auto in = random_forward_inputs(n, 23);
        const auto &x = in.x, &p = in.p, &h0 = in.h0, &c0 = in.c0;
        const bool cs = has_c(bc.c.cell);
        std::vector<double> y[2], hn[2], cn[2];
        for (int training : {0, 1}) {
            y[training].resize((size_t)n.ny), hn[training].resize((size_t)n.ns), cn[training].resize((size_t)n.ns);
            ASSERT_EQ(hpc_rnn_forward(n.rnn, training, bc.B, bc.T, x.data(), n.nx, p.data(), n.n_params, h0.data(), n.ns,
                                      cs ? c0.data() : nullptr, cs ? n.ns : 0, y[training].data(), n.ny, hn[training].data(),
                                      n.ns, cs ? cn[training].data() : nullptr, cs ? n.ns : 0),
                      HPC_OK)
                << last_error();
        }
        EXPECT_EQ(y[0], y[1]) << name_of(bc.c);
        EXPECT_EQ(hn[0], hn[1]) << name_of(bc.c);
        EXPECT_EQ(cn[0], cn[1]) << name_of(bc.c);
    }
}

// Inference projecting step by step keeps one step's rows of gates, not T*B: the workspace after it stays below the
// T*B*4H floats the whole-sequence projection needs (outputs, cell states and packs included), and a training forward
// afterwards grows it as it needs.
TEST(RnnKernels, Float32InferenceProjectedStepByStepKeepsOneStepOfGates) {
    ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
    const BigCase bc{{HPC_CELL_LSTM, 1, false, false, false}, 64, 64, 64, 50};
    Net<float> n(bc.c, bc.I, bc.H, bc.B, bc.T);
    std::mt19937_64 rng(3);
    const auto x = random_vec<float>((size_t)n.nx, rng), p = random_vec<float>((size_t)n.n_params, rng, 0.3);
    std::vector<float> y((size_t)n.ny), y2((size_t)n.ny);
    const int64_t all_gates_bytes = bc.T * bc.B * 4 * bc.H * (int64_t)sizeof(float);
    ASSERT_EQ(hpc_rnn_forward(n.rnn, 0, bc.B, bc.T, x.data(), n.nx, p.data(), n.n_params, nullptr, 0, nullptr, 0, y.data(),
                              n.ny, nullptr, 0, nullptr, 0),
              HPC_OK)
        << last_error();
    int64_t bytes = 0;
    ASSERT_EQ(hpc_rnn_workspace_bytes(n.rnn, &bytes), HPC_OK);
    EXPECT_LT(bytes, all_gates_bytes);
    ASSERT_EQ(hpc_rnn_forward(n.rnn, 1, bc.B, bc.T, x.data(), n.nx, p.data(), n.n_params, nullptr, 0, nullptr, 0, y2.data(),
                              n.ny, nullptr, 0, nullptr, 0),
              HPC_OK)
        << last_error();
    EXPECT_EQ(y2, y);
    ASSERT_EQ(hpc_rnn_workspace_bytes(n.rnn, &bytes), HPC_OK);
    EXPECT_GE(bytes, all_gates_bytes);
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// What inference keeps grows with T only where it must: the gates of the whole-sequence projection (none where the
// layer projects step by step, and none past the first chunk where it projects by chunks of steps), the outputs of all
// but the last layer (the last writes y directly, in either layout; a layer's output is kept only for the layer above),
// and, batch-first, a time-major copy of x (float32: of one chunk of steps; none step by step). The cell states
// (LSTM c_t) are two steps' rows, not T*B. Fresh networks at T and 3T, so that each buffer is sized once: the
// difference in workspace bytes is exactly those T-proportional buffers. The outputs are checked against training's
// elsewhere (Float32InferenceEqualsTheTrainingForwardBitForBit, the PyTorch references).
template <typename T>
void check_inference_workspace_growth(const BigCase& bc, bool gates_grow) {
    const int64_t D = bc.c.bi ? 2 : 1, G = bc.c.cell == HPC_CELL_GRU ? 3 : (has_c(bc.c.cell) ? 4 : 1);
    auto bytes_after_inference = [&](int64_t steps) {
        Net<T> n(bc.c, bc.I, bc.H, bc.B, steps);
        std::mt19937_64 rng(5);
        const auto x = random_vec<T>((size_t)n.nx, rng), p = random_vec<T>((size_t)n.n_params, rng, 0.3);
        std::vector<T> y((size_t)n.ny), hn((size_t)n.ns), cn((size_t)n.ns);
        const bool cs = has_c(bc.c.cell);
        EXPECT_EQ(hpc_rnn_forward(n.rnn, 0, bc.B, steps, x.data(), n.nx, p.data(), n.n_params, nullptr, 0, nullptr, 0,
                                  y.data(), n.ny, hn.data(), n.ns, cs ? cn.data() : nullptr, cs ? n.ns : 0),
                  HPC_OK)
            << last_error();
        int64_t b = 0;
        EXPECT_EQ(hpc_rnn_workspace_bytes(n.rnn, &b), HPC_OK);
        return b;
    };
    const int64_t dT = 2 * bc.T;
    const int64_t out_slots = std::min<int64_t>(bc.c.layers - 1, 2);
    // float32 gathers a batch-first x chunk by chunk (growing with the gates), float64 copies it whole
    const bool copies_x = bc.c.batch_first && (sizeof(T) == 8 || gates_grow);
    const int64_t per_step = (gates_grow ? bc.B * G * bc.H : 0) + (copies_x ? bc.B * bc.I : 0) + out_slots * bc.B * D * bc.H;
    EXPECT_EQ(bytes_after_inference(3 * bc.T) - bytes_after_inference(bc.T), (int64_t)sizeof(T) * dT * per_step)
        << name_of(bc.c) << " B" << bc.B << " H" << bc.H << (sizeof(T) == 4 ? " float32" : " float64");
}

TEST(RnnKernels, InferenceWorkspaceGrowsWithTOnlyByWhatItMustKeep) {
    ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
    // Projected step by step (float32, 32 rows a thread): nothing grows with T, time-major, one layer.
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM, 1, false, false, false}, 64, 64, 64, 5}, false);
    check_inference_workspace_growth<float>({{HPC_CELL_GRU, 1, false, false, false}, 32, 32, 64, 4}, false);
    ASSERT_EQ(hpc_set_num_threads(1), HPC_OK);
    // Within one chunk of steps the gates grow with T; past one chunk they do not. A chunk is up to 64 MiB of gates
    // by default; with the limit lowered, 512 rows (B4: 128 steps).
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM, 1, true, false, false}, 8, 16, 4, 5}, true);
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM_PEEPHOLE, 2, false, true, false}, 8, 16, 4, 3}, true);
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM_PEEPHOLE, 2, false, true, false}, 8, 16, 4, 16}, true);
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM, 1, true, false, false}, 8, 16, 4, 200}, true);
    hpc::cpu::rnn_inference_chunk_bytes(0);
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM, 1, true, false, false}, 8, 16, 4, 200}, false);
    check_inference_workspace_growth<float>({{HPC_CELL_GRU, 2, false, true, false}, 8, 16, 4, 150}, false);
    check_inference_workspace_growth<float>({{HPC_CELL_LSTM, 1, true, false, false}, 8, 16, 4, 40}, true);
    hpc::cpu::rnn_inference_chunk_bytes(-1);
    // float64 projects the whole sequence (BLAS).
    check_inference_workspace_growth<double>({{HPC_CELL_LSTM, 3, true, false, false}, 5, 7, 3, 4}, true);
    check_inference_workspace_growth<double>({{HPC_CELL_GRU, 2, true, true, false}, 5, 7, 3, 4}, true);
    check_inference_workspace_growth<double>({{HPC_CELL_RNN_TANH, 1, false, false, false}, 5, 7, 3, 4}, true);
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

}  // namespace

// ---- frozen parameters (hpc_rnn_freeze_params) ----
namespace {

struct FrozenCase {
    int32_t cell, dtype;
    int64_t batch, steps, in, hid, layers;
    bool bi, exact;  // exact: the live forward packs every weight too, so the results must match bit for bit
};

template <typename T>
void check_frozen_forward(const FrozenCase& c) {
    const std::string what = "cell " + std::to_string(c.cell) + " dtype " + std::to_string(c.dtype) + " B " +
                             std::to_string(c.batch) + " T " + std::to_string(c.steps) + " I " + std::to_string(c.in);
    const hpc_rnn_desc d = make_desc(c.cell, c.dtype, c.in, c.hid, c.layers, c.bi, true);
    int64_t nt = 0, np = 0;
    ASSERT_EQ(hpc_rnn_param_layout(&d, &nt, &np), HPC_OK);
    std::mt19937_64 rng(11);
    std::vector<T> p = random_vec<T>((size_t)np, rng, 0.3), x = random_vec<T>((size_t)(c.batch * c.steps * c.in), rng);
    const int64_t D = c.bi ? 2 : 1, ny = c.batch * c.steps * D * c.hid, ns = c.layers * D * c.batch * c.hid;
    std::vector<T> h0 = random_vec<T>((size_t)ns, rng), y_live((size_t)ny), y_frozen((size_t)ny), hn_live((size_t)ns),
                   hn_frozen((size_t)ns);
    hpc_rnn* r = nullptr;
    ASSERT_EQ(hpc_rnn_create(&d, &r), HPC_OK);
    auto forward = [&](const T* params, int64_t len, std::vector<T>& y, std::vector<T>& hn) {
        return hpc_rnn_forward(r, 0, c.batch, c.steps, x.data(), (int64_t)x.size(), params, len, h0.data(), ns, nullptr, 0,
                               y.data(), ny, hn.data(), ns, nullptr, 0);
    };
    ASSERT_EQ(forward(p.data(), np, y_live, hn_live), HPC_OK) << last_error();
    // Without frozen parameters a NULL params is an error that says how to freeze them.
    EXPECT_EQ(forward(nullptr, 0, y_frozen, hn_frozen), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("hpc_rnn_freeze_params"), std::string::npos) << last_error();
    int64_t before = 0, frozen_bytes = 0, after = 0;
    ASSERT_EQ(hpc_rnn_workspace_bytes(r, &before), HPC_OK);
    ASSERT_EQ(hpc_rnn_freeze_params(r, p.data(), np), HPC_OK) << last_error();
    ASSERT_EQ(hpc_rnn_workspace_bytes(r, &frozen_bytes), HPC_OK);
    EXPECT_GE(frozen_bytes - before, np * (int64_t)sizeof(T)) << what;
    // The copy is the object's: changing the caller's buffer afterwards changes nothing.
    for (auto& v : p) v = (T)0.5;
    ASSERT_EQ(forward(nullptr, 0, y_frozen, hn_frozen), HPC_OK) << last_error();
    for (size_t i = 0; i < y_live.size(); ++i) {
        if (c.exact) ASSERT_EQ(y_frozen[i], y_live[i]) << what << " y at " << i;
        else ASSERT_NEAR(y_frozen[i], y_live[i], 2e-6 + 2e-5 * std::abs((double)y_live[i])) << what << " y at " << i;
    }
    for (size_t i = 0; i < hn_live.size(); ++i)
        ASSERT_NEAR(hn_frozen[i], hn_live[i], c.exact ? 0.0 : 2e-6 + 2e-5 * std::abs((double)hn_live[i])) << what;
    // Given params, a forward uses them (here: the overwritten values), frozen copy or not.
    std::vector<T> y_other((size_t)ny), hn_other((size_t)ns);
    ASSERT_EQ(forward(p.data(), np, y_other, hn_other), HPC_OK);
    EXPECT_NE(y_other, y_live) << what;
    // A wrong length is rejected and keeps the frozen copy.
    EXPECT_EQ(hpc_rnn_freeze_params(r, p.data(), np - 1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_freeze_params(r, nullptr, np), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_freeze_params(nullptr, p.data(), np), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(forward(nullptr, np, y_other, hn_other), HPC_ERR_INVALID_ARGUMENT);  // NULL with a length
    EXPECT_NE(last_error().find("params_len"), std::string::npos) << last_error();
    ASSERT_EQ(forward(nullptr, 0, y_other, hn_other), HPC_OK) << last_error();
    EXPECT_EQ(y_other, y_frozen) << what;
    // Releasing: the bytes go back and NULL params is an error again.
    ASSERT_EQ(hpc_rnn_freeze_params(r, nullptr, 0), HPC_OK);
    ASSERT_EQ(hpc_rnn_workspace_bytes(r, &after), HPC_OK);
    EXPECT_EQ(after, before) << what;
    EXPECT_EQ(forward(nullptr, 0, y_other, hn_other), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_destroy(r), HPC_OK);
}

}  // namespace

TEST(RnnFrozenParams, ForwardEqualsTheLiveForward) {
    for (int32_t cell : {HPC_CELL_LSTM, HPC_CELL_GRU, HPC_CELL_RNN_TANH, HPC_CELL_LSTM_PEEPHOLE}) {
        // Batch 3: the live forward packs W_ih and W_hh too (bit for bit). Batch 1, 20 steps, input 300: it reads
        // W_ih in place by dot products (another summation order).
        check_frozen_forward<float>({cell, HPC_DTYPE_FLOAT32, 3, 7, 5, 20, 2, true, true});
        check_frozen_forward<float>({cell, HPC_DTYPE_FLOAT32, 1, 20, 300, 48, 1, false, false});
        check_frozen_forward<double>({cell, HPC_DTYPE_FLOAT64, 3, 7, 5, 20, 2, true, true});
    }
}

namespace {

// Training on the frozen copy: forward and backward given NULL params against both given the same params.
template <typename T>
void check_frozen_training(const FrozenCase& c, int64_t checkpoint_every) {
    const std::string what = "cell " + std::to_string(c.cell) + " dtype " + std::to_string(c.dtype) + " B " +
                             std::to_string(c.batch) + " T " + std::to_string(c.steps) + " H " + std::to_string(c.hid) +
                             " checkpoint " + std::to_string(checkpoint_every);
    const hpc_rnn_desc d = make_desc(c.cell, c.dtype, c.in, c.hid, c.layers, c.bi, true);
    int64_t nt = 0, np = 0;
    ASSERT_EQ(hpc_rnn_param_layout(&d, &nt, &np), HPC_OK);
    std::mt19937_64 rng(12);
    const int64_t D = c.bi ? 2 : 1, nx = c.batch * c.steps * c.in, ny = c.batch * c.steps * D * c.hid,
                  ns = c.layers * D * c.batch * c.hid;
    const std::vector<T> p = random_vec<T>((size_t)np, rng, 0.3), x = random_vec<T>((size_t)nx, rng),
                         dy = random_vec<T>((size_t)ny, rng), h0 = random_vec<T>((size_t)ns, rng);
    struct Result {
        std::vector<T> y, dp, dx, dh0;
    };
    hpc_rnn* r = nullptr;
    ASSERT_EQ(hpc_rnn_create(&d, &r), HPC_OK);
    ASSERT_EQ(hpc_rnn_set_checkpointing(r, checkpoint_every), HPC_OK);
    auto forward = [&](const T* params, int64_t len, Result& o) {
        o.y.assign((size_t)ny, T(0));
        return hpc_rnn_forward(r, 1, c.batch, c.steps, x.data(), nx, params, len, h0.data(), ns, nullptr, 0, o.y.data(), ny,
                               nullptr, 0, nullptr, 0);
    };
    auto backward = [&](const T* params, int64_t len, Result& o) {
        o.dp.assign((size_t)np, T(7));  // overwritten (accumulate 0)
        o.dx.assign((size_t)nx, T(0));
        o.dh0.assign((size_t)ns, T(0));
        return hpc_rnn_backward(r, x.data(), nx, params, len, dy.data(), ny, nullptr, 0, nullptr, 0, o.dx.data(), nx,
                                o.dh0.data(), ns, nullptr, 0, o.dp.data(), np, 0, nullptr, 0);
    };
    Result live, frozen, again;
    ASSERT_EQ(forward(p.data(), np, live), HPC_OK) << last_error();
    ASSERT_EQ(backward(p.data(), np, live), HPC_OK) << last_error();
    // NULL params without a frozen copy: an error naming hpc_rnn_freeze_params, in forward and backward.
    ASSERT_EQ(forward(p.data(), np, again), HPC_OK);
    EXPECT_EQ(backward(nullptr, 0, again), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("frozen"), std::string::npos) << last_error();
    EXPECT_EQ(forward(nullptr, 0, again), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("hpc_rnn_freeze_params"), std::string::npos) << last_error();

    std::vector<T> mine = p;
    ASSERT_EQ(hpc_rnn_freeze_params(r, mine.data(), np), HPC_OK) << last_error();
    for (auto& v : mine) v = (T)0.5;  // the copy is the object's
    int64_t before_backward = 0, after_backward = 0;
    ASSERT_EQ(hpc_rnn_workspace_bytes(r, &before_backward), HPC_OK);
    ASSERT_EQ(forward(nullptr, 0, frozen), HPC_OK) << last_error();
    // After a forward on live params, NULL in backward is refused (the forward did not run on the copy).
    ASSERT_EQ(forward(p.data(), np, again), HPC_OK);
    EXPECT_EQ(backward(nullptr, 0, again), HPC_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(forward(nullptr, 0, frozen), HPC_OK) << last_error();
    EXPECT_EQ(backward(nullptr, np, frozen), HPC_ERR_INVALID_ARGUMENT);  // NULL with a length
    EXPECT_NE(last_error().find("params_len"), std::string::npos) << last_error();
    ASSERT_EQ(backward(nullptr, 0, frozen), HPC_OK) << last_error();
    ASSERT_EQ(hpc_rnn_workspace_bytes(r, &after_backward), HPC_OK);
    // float32: the first backward on the copy packs every W_hh for the backward steps and keeps it.
    const int64_t hh_bytes = c.layers * D * (c.cell == HPC_CELL_GRU ? 3 : c.cell == HPC_CELL_RNN_TANH ? 1 : 4) * c.hid *
                             c.hid * (int64_t)sizeof(T);
    if (c.dtype == HPC_DTYPE_FLOAT32) EXPECT_GE(after_backward - before_backward, hh_bytes) << what;
    auto near = [&](const std::vector<T>& a, const std::vector<T>& b, const char* name) {
        ASSERT_EQ(a.size(), b.size());
        double tol = c.exact ? 0.0 : 1e-5, worst = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            const double e = std::abs((double)a[i] - (double)b[i]) / (1e-3 + std::abs((double)b[i]));
            worst = std::max(worst, e);
            if (c.exact) ASSERT_EQ(a[i], b[i]) << what << " " << name << " at " << i;
        }
        EXPECT_LE(worst, tol) << what << " " << name;
    };
    near(frozen.y, live.y, "y");
    near(frozen.dp, live.dp, "dparams");
    near(frozen.dx, live.dx, "dx");
    near(frozen.dh0, live.dh0, "dh0");
    // Again on the kept packs; then given the same params explicitly after a frozen forward (allowed).
    ASSERT_EQ(forward(nullptr, 0, again), HPC_OK);
    ASSERT_EQ(backward(nullptr, 0, again), HPC_OK) << last_error();
    EXPECT_EQ(again.dp, frozen.dp) << what;
    ASSERT_EQ(forward(nullptr, 0, again), HPC_OK);
    ASSERT_EQ(backward(p.data(), np, again), HPC_OK) << last_error();
    near(again.dp, live.dp, "dparams (params given)");
    // Freezing again, or releasing, discards activations saved on the old copy.
    ASSERT_EQ(forward(nullptr, 0, again), HPC_OK);
    ASSERT_EQ(hpc_rnn_freeze_params(r, p.data(), np), HPC_OK);
    EXPECT_EQ(backward(nullptr, 0, again), HPC_ERR_INVALID_STATE) << what;
    ASSERT_EQ(forward(nullptr, 0, again), HPC_OK);
    ASSERT_EQ(hpc_rnn_freeze_params(r, nullptr, 0), HPC_OK);
    EXPECT_EQ(backward(nullptr, 0, again), HPC_ERR_INVALID_STATE) << what;
    // ...but not those saved on live params.
    ASSERT_EQ(forward(p.data(), np, again), HPC_OK);
    ASSERT_EQ(hpc_rnn_freeze_params(r, p.data(), np), HPC_OK);
    ASSERT_EQ(backward(p.data(), np, again), HPC_OK) << last_error();
    EXPECT_EQ(again.dp, live.dp) << what;
    EXPECT_EQ(hpc_rnn_destroy(r), HPC_OK);
}

}  // namespace

TEST(RnnFrozenParams, TrainingEqualsTheLiveTraining) {
    for (int32_t cell : {HPC_CELL_LSTM, HPC_CELL_GRU, HPC_CELL_RNN_TANH, HPC_CELL_LSTM_PEEPHOLE})
        for (int64_t every : {0, 3}) {
            // Batch 3, H 20: the live calls pack every weight too (bit for bit). Batch 1, 20 steps, H 48: live
            // backward reads W_hh in place (H <= 128), another summation order.
            check_frozen_training<float>({cell, HPC_DTYPE_FLOAT32, 3, 7, 5, 20, 2, true, true}, every);
            check_frozen_training<float>({cell, HPC_DTYPE_FLOAT32, 1, 20, 12, 48, 1, false, false}, every);
            check_frozen_training<double>({cell, HPC_DTYPE_FLOAT64, 3, 7, 5, 20, 2, true, true}, every);
        }
}
