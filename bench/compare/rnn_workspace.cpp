// Workspace bytes of one float32 inference forward through the C ABI (hpc_rnn_workspace_bytes after the call), for
// comparing two builds of the library: build against one, run with LD_LIBRARY_PATH pointing at each.
//   g++ -O2 -std=c++17 bench/compare/rnn_workspace.cpp -Inative/include -Lbuild/native -lhpc_native -o out/rnn_workspace
//   LD_LIBRARY_PATH=build/native out/rnn_workspace lstm 64 100 1024 1024
// Prints one line per layout (time-major, batch-first): the configuration and the workspace in MB.
#include <hpc/hpc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: rnn_workspace lstm|gru|rnn_tanh|rnn_relu|lstm_peephole B T I H\n");
        return 2;
    }
    const std::string cell = argv[1];
    const int64_t B = std::atoll(argv[2]), T = std::atoll(argv[3]), I = std::atoll(argv[4]), H = std::atoll(argv[5]);
    const int32_t kind = cell == "lstm" ? HPC_CELL_LSTM : cell == "gru" ? HPC_CELL_GRU : cell == "rnn_tanh" ? HPC_CELL_RNN_TANH
                         : cell == "rnn_relu" ? HPC_CELL_RNN_RELU : HPC_CELL_LSTM_PEEPHOLE;
    for (int batch_first = 0; batch_first < 2; ++batch_first) {
        hpc_rnn_desc d;
        std::memset(&d, 0, sizeof d);
        d.cell = kind, d.dtype = HPC_DTYPE_FLOAT32, d.input_size = I, d.hidden_size = H, d.num_layers = 1;
        d.batch_first = batch_first;
        hpc_rnn* r = nullptr;
        int64_t tensors = 0, params = 0, bytes = 0;
        if (hpc_rnn_create(&d, &r) != HPC_OK || hpc_rnn_param_layout(&d, &tensors, &params) != HPC_OK) return 1;
        std::vector<float> x((size_t)(B * T * I), 0.1f), p((size_t)params, 0.01f), y((size_t)(B * T * H));
        if (hpc_rnn_forward(r, 0, B, T, x.data(), (int64_t)x.size(), p.data(), params, nullptr, 0, nullptr, 0, y.data(),
                            (int64_t)y.size(), nullptr, 0, nullptr, 0) != HPC_OK ||
            hpc_rnn_workspace_bytes(r, &bytes) != HPC_OK) {
            char e[512];
            hpc_last_error(e, sizeof e);
            std::fprintf(stderr, "%s\n", e);
            return 1;
        }
        std::printf("%s B%lld T%lld I%lld H%lld %s inference: workspace %.1f MB\n", cell.c_str(), (long long)B, (long long)T,
                    (long long)I, (long long)H, batch_first ? "batch-first" : "time-major", bytes / 1e6);
        hpc_rnn_destroy(r);
    }
    return 0;
}
