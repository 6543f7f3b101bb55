// The float32 single-layer configuration that rnn_abi_time.cpp and rnn_lib_ab.cpp time, from their CELL B T I H MODE
// arguments: its descriptor, or false (after a message on stderr) for arguments they do not take.
#pragma once
#include <hpc/hpc.h>

#include <cstdint>
#include <cstdio>
#include <string>

inline bool single_layer_desc(const std::string& cell, const std::string& mode, int64_t B, int64_t T, int64_t I, int64_t H,
                              bool batch_first, hpc_rnn_desc& d) {
    if ((cell != "lstm" && cell != "gru" && cell != "rnn_tanh") || (mode != "training" && mode != "inference") || B <= 0 ||
        T <= 0 || I <= 0 || H <= 0) {
        std::fprintf(stderr, "bad arguments\n");
        return false;
    }
    d = hpc_rnn_desc{};
    d.cell = cell == "lstm" ? HPC_CELL_LSTM : cell == "gru" ? HPC_CELL_GRU : HPC_CELL_RNN_TANH;
    d.dtype = HPC_DTYPE_FLOAT32;
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    d.batch_first = batch_first ? 1 : 0;
    return true;
}
