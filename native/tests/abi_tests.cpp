// The C ABI validates its arguments and reports errors instead of crashing.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>

#include "test_util.h"

namespace {

struct Fixture : ::testing::Test {
    hpc_rnn_desc desc = make_desc(HPC_CELL_LSTM, HPC_DTYPE_FLOAT32, 3, 4, 1, false, true);
    hpc_rnn* rnn = nullptr;
    int64_t n_tensors = 0, n_params = 0;
    std::vector<float> x = std::vector<float>(2 * 5 * 3, 0.1f), p, y = std::vector<float>(2 * 5 * 4), h = std::vector<float>(2 * 4);
    void SetUp() override {
        ASSERT_EQ(hpc_rnn_create(&desc, &rnn), HPC_OK);
        ASSERT_EQ(hpc_rnn_param_layout(&desc, &n_tensors, &n_params), HPC_OK);
        p.assign((size_t)n_params, 0.05f);
    }
    void TearDown() override { EXPECT_EQ(hpc_rnn_destroy(rnn), HPC_OK); }
    int32_t forward(int64_t batch = 2, int64_t steps = 5) {
        return hpc_rnn_forward(rnn, 1, batch, steps, x.data(), (int64_t)x.size(), p.data(), n_params, nullptr, 0,
                               nullptr, 0, y.data(), (int64_t)y.size(), nullptr, 0, nullptr, 0);
    }
};

TEST(Abi, VersionIsEncodedMajorMinorPatch) {
    EXPECT_EQ(hpc_version(), HPC_VERSION_MAJOR * 10000 + HPC_VERSION_MINOR * 100 + HPC_VERSION_PATCH);
}

TEST(Abi, LastErrorIsTruncatedAndNulTerminated) {
    hpc_rnn* r = nullptr;
    EXPECT_EQ(hpc_rnn_create(nullptr, &r), HPC_ERR_INVALID_ARGUMENT);
    char small[6];
    const size_t full = hpc_last_error(small, sizeof small);
    EXPECT_GT(full, 5u);
    EXPECT_EQ(std::strlen(small), 5u);
    EXPECT_EQ(hpc_last_error(nullptr, 0), full);
}

TEST(Abi, SuccessClearsTheLastError) {
    hpc_rnn* r = nullptr;
    EXPECT_NE(hpc_rnn_create(nullptr, &r), HPC_OK);
    auto d = make_desc(HPC_CELL_GRU, HPC_DTYPE_FLOAT64, 2, 2, 1, false, true);
    ASSERT_EQ(hpc_rnn_create(&d, &r), HPC_OK);
    EXPECT_EQ(last_error(), "");
    hpc_rnn_destroy(r);
}

TEST(Abi, CreateRejectsBadDescriptors) {
    hpc_rnn* r = reinterpret_cast<hpc_rnn*>(0x1);
    auto d = make_desc(HPC_CELL_LSTM, HPC_DTYPE_FLOAT32, 3, 4, 1, false, true);
    EXPECT_EQ(hpc_rnn_create(&d, nullptr), HPC_ERR_INVALID_ARGUMENT);
    auto bad = d; bad.cell = 9;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("desc->cell"), std::string::npos);
    EXPECT_EQ(r, nullptr);  // out is cleared on failure
    bad = d; bad.dtype = 3;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    bad = d; bad.input_size = 0;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("input_size: expected > 0, got 0"), std::string::npos);
    bad = d; bad.hidden_size = -3;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    bad = d; bad.num_layers = 0;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    bad = d; bad.bidirectional = 2;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    bad = d; bad.hidden_size = INT64_MAX / 2;
    EXPECT_EQ(hpc_rnn_create(&bad, &r), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("overflow"), std::string::npos);
}

TEST(Abi, ParamLayoutFollowsPyTorchOrder) {
    auto d = make_desc(HPC_CELL_LSTM_PEEPHOLE, HPC_DTYPE_FLOAT32, 3, 4, 2, true, true);
    int64_t n = 0, total = 0;
    ASSERT_EQ(hpc_rnn_param_layout(&d, &n, &total), HPC_OK);
    EXPECT_EQ(n, 2 * 2 * 7);
    const int64_t per_l0 = 16 * 3 + 16 * 4 + 16 + 16 + 3 * 4, per_l1 = 16 * 8 + 16 * 4 + 16 + 16 + 3 * 4;
    EXPECT_EQ(total, 2 * per_l0 + 2 * per_l1);
    char name[64];
    int64_t off, shape[2];
    int32_t rank;
    ASSERT_EQ(hpc_rnn_param_info(&d, 7, name, sizeof name, &off, &rank, shape), HPC_OK);
    EXPECT_STREQ(name, "weight_ih_l0_reverse");
    EXPECT_EQ(off, per_l0);
    EXPECT_EQ(rank, 2);
    EXPECT_EQ(shape[0], 16);
    EXPECT_EQ(shape[1], 3);
    ASSERT_EQ(hpc_rnn_param_info(&d, 27, name, sizeof name, &off, &rank, shape), HPC_OK);
    EXPECT_STREQ(name, "peephole_o_l1_reverse");
    EXPECT_EQ(off + 4, total);
    EXPECT_EQ(hpc_rnn_param_info(&d, 28, name, sizeof name, &off, &rank, shape), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_param_info(&d, -1, name, sizeof name, &off, &rank, shape), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_param_info(&d, 27, name, 5, &off, &rank, shape), HPC_ERR_INVALID_ARGUMENT);
}

TEST_F(Fixture, ForwardAcceptsValidArguments) { EXPECT_EQ(forward(), HPC_OK) << last_error(); }

TEST_F(Fixture, ForwardRejectsNullHandleAndBuffers) {
    EXPECT_EQ(hpc_rnn_forward(nullptr, 0, 2, 5, x.data(), 30, p.data(), n_params, nullptr, 0, nullptr, 0, y.data(),
                              40, nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, nullptr, 30, p.data(), n_params, nullptr, 0, nullptr, 0, y.data(), 40,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("x is NULL"), std::string::npos);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params, nullptr, 16, nullptr, 0, y.data(), 40,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("h0 is NULL but h0_len is 16"), std::string::npos);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params, nullptr, 0, nullptr, 0, nullptr, 40,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
}

TEST_F(Fixture, ForwardRejectsMismatchedLengthsWithoutWriting) {
    std::fill(y.begin(), y.end(), 7.0f);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 29, p.data(), n_params, nullptr, 0, nullptr, 0, y.data(), 40,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("x_len: expected 30 elements, got 29"), std::string::npos);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params - 1, nullptr, 0, nullptr, 0, y.data(),
                              40, nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params, nullptr, 0, nullptr, 0, y.data(), 39,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params, h.data(), 7, nullptr, 0, y.data(), 40,
                              nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    for (float v : y) ASSERT_EQ(v, 7.0f);
}

TEST_F(Fixture, ForwardRejectsNonPositiveAndOverflowingSizes) {
    EXPECT_EQ(forward(0, 5), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("batch: expected > 0, got 0"), std::string::npos);
    EXPECT_EQ(forward(2, -1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(forward(INT64_MAX / 2, 3), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("overflow"), std::string::npos);
    EXPECT_EQ(forward((int64_t)INT_MAX, 2), HPC_ERR_INVALID_ARGUMENT);
}

TEST_F(Fixture, ForwardRejectsOverlappingOutputs) {
    std::vector<float> big(100);
    EXPECT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, big.data(), 30, p.data(), n_params, nullptr, 0, nullptr, 0,
                              big.data() + 20, 40, nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("y overlaps x"), std::string::npos);
}

TEST(Abi, CellStateArgumentsAreRejectedForCellsWithoutOne) {
    auto d = make_desc(HPC_CELL_GRU, HPC_DTYPE_FLOAT64, 2, 3, 1, false, true);
    hpc_rnn* r = nullptr;
    ASSERT_EQ(hpc_rnn_create(&d, &r), HPC_OK);
    int64_t nt, np;
    hpc_rnn_param_layout(&d, &nt, &np);
    std::vector<double> x(2), p((size_t)np), y(3), c(3);
    EXPECT_EQ(hpc_rnn_forward(r, 0, 1, 1, x.data(), 2, p.data(), np, nullptr, 0, c.data(), 3, y.data(), 3, nullptr,
                              0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("c0: this cell has no cell state"), std::string::npos);
    hpc_rnn_destroy(r);
}

TEST_F(Fixture, BackwardNeedsATrainingForward) {
    std::vector<float> dy(y.size());
    auto backward = [&] {
        return hpc_rnn_backward(rnn, x.data(), 30, p.data(), n_params, dy.data(), 40, nullptr, 0, nullptr, 0,
                                nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0, 0, nullptr, 0);
    };
    EXPECT_EQ(backward(), HPC_ERR_INVALID_STATE);
    EXPECT_NE(last_error().find("training = 1"), std::string::npos);
    ASSERT_EQ(forward(), HPC_OK);
    EXPECT_EQ(backward(), HPC_OK) << last_error();
    // An inference forward invalidates the saved activations.
    ASSERT_EQ(hpc_rnn_forward(rnn, 0, 2, 5, x.data(), 30, p.data(), n_params, nullptr, 0, nullptr, 0, y.data(), 40,
                              nullptr, 0, nullptr, 0), HPC_OK);
    EXPECT_EQ(backward(), HPC_ERR_INVALID_STATE);
}

TEST_F(Fixture, BackwardRejectsMismatchedLengths) {
    ASSERT_EQ(forward(), HPC_OK);
    std::vector<float> dy(y.size()), dp((size_t)n_params);
    EXPECT_EQ(hpc_rnn_backward(rnn, x.data(), 30, p.data(), n_params, dy.data(), 41, nullptr, 0, nullptr, 0, nullptr,
                               0, nullptr, 0, nullptr, 0, nullptr, 0, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("dy_len: expected 40 elements, got 41"), std::string::npos);
    EXPECT_EQ(hpc_rnn_backward(rnn, x.data(), 30, p.data(), n_params, dy.data(), 40, nullptr, 0, nullptr, 0, nullptr,
                               0, nullptr, 0, nullptr, 0, dp.data(), n_params + 1, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(hpc_rnn_backward(rnn, x.data(), 30, p.data(), n_params, dy.data(), 40, nullptr, 0, nullptr, 0, nullptr,
                               0, nullptr, 0, nullptr, 0, dy.data(), n_params, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);  // dparams overlaps dy
}

TEST_F(Fixture, WorkspaceStopsGrowingAtASteadyShape) {
    ASSERT_EQ(forward(), HPC_OK);
    int64_t b1 = 0, b2 = 0;
    ASSERT_EQ(hpc_rnn_workspace_bytes(rnn, &b1), HPC_OK);
    EXPECT_GT(b1, 0);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(forward(), HPC_OK);
    ASSERT_EQ(hpc_rnn_workspace_bytes(rnn, &b2), HPC_OK);
    EXPECT_EQ(b1, b2);
}

TEST(Abi, DestroyAcceptsNull) { EXPECT_EQ(hpc_rnn_destroy(nullptr), HPC_OK); }

TEST(Abi, SetNumThreadsAcceptsAnyCount) {
    EXPECT_EQ(hpc_set_num_threads(1), HPC_OK);
    EXPECT_EQ(hpc_set_num_threads(0), HPC_OK);
}

}  // namespace
