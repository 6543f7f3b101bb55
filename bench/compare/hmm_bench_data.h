// Data shared by the HMM timing tools in bench/compare: a transition matrix [K, K] whose rows hold 0.1 + |N(0, 1)|
// off the diagonal and K more on it, normalised (the draws taken from g in row order).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

inline std::vector<double> diagonal_heavy_transmat(int64_t K, std::mt19937_64& g, std::normal_distribution<double>& nd) {
    std::vector<double> A((size_t)(K * K));
    for (int64_t i = 0; i < K; ++i) {
        double s = 0;
        for (int64_t j = 0; j < K; ++j) s += A[(size_t)(i * K + j)] = 0.1 + std::abs(nd(g)) + (i == j ? (double)K : 0.0);
        for (int64_t j = 0; j < K; ++j) A[(size_t)(i * K + j)] /= s;
    }
    return A;
}
