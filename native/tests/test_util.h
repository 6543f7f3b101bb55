#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hpc/hpc.h"

inline std::string last_error() {
    char buf[1024];
    hpc_last_error(buf, sizeof buf);
    return buf;
}

inline hpc_rnn_desc make_desc(int32_t cell, int32_t dtype, int64_t in, int64_t hid, int64_t layers, bool bi,
                              bool batch_first) {
    return hpc_rnn_desc{cell, dtype, in, hid, layers, bi ? 1 : 0, batch_first ? 1 : 0};
}

template <typename T>
std::vector<T> random_vec(size_t n, std::mt19937_64& rng, double scale = 1.0) {
    std::uniform_real_distribution<double> u(-scale, scale);
    std::vector<T> v(n);
    for (auto& e : v) e = (T)u(rng);
    return v;
}

inline bool has_c(int32_t cell) { return cell == HPC_CELL_LSTM || cell == HPC_CELL_LSTM_PEEPHOLE; }
