// Shapes and the flat parameter packing of a stacked / bidirectional recurrent network (PyTorch's order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hpc {

enum class Cell { RnnTanh, RnnRelu, Lstm, LstmPeephole, Gru };

inline int gate_count(Cell c) {
    switch (c) {
        case Cell::Lstm:
        case Cell::LstmPeephole: return 4;
        case Cell::Gru: return 3;
        default: return 1;
    }
}
inline bool has_cell_state(Cell c) { return c == Cell::Lstm || c == Cell::LstmPeephole; }

struct RnnDims {
    Cell cell = Cell::RnnTanh;
    int64_t input = 0;   // I
    int64_t hidden = 0;  // H
    int64_t layers = 0;  // L
    int directions = 1;  // D
    bool batch_first = true;

    int64_t gates() const { return gate_count(cell); }
    int64_t layer_input(int64_t layer) const { return layer == 0 ? input : directions * hidden; }
};

// Element offsets of one (layer, direction)'s tensors in the flat parameter buffer; -1 where absent.
struct LayerParams {
    int64_t w_ih = -1, w_hh = -1, b_ih = -1, b_hh = -1, p_i = -1, p_f = -1, p_o = -1;
};

struct ParamTensor {
    std::string name;
    int64_t offset = 0;
    int32_t rank = 1;
    int64_t rows = 0, cols = 1;
    int64_t size() const { return rows * cols; }
};

// All parameter tensors in packing order. Throws InvalidArgument when a size overflows.
std::vector<ParamTensor> param_tensors(const RnnDims& dims);
// Offsets of the tensors of one layer and direction.
LayerParams layer_params(const RnnDims& dims, int64_t layer, int direction);
int64_t param_count(const RnnDims& dims);

}  // namespace hpc
