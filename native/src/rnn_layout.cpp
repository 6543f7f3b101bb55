#include "rnn_layout.h"

#include "checked.h"

namespace hpc {

std::vector<ParamTensor> param_tensors(const RnnDims& d) {
    std::vector<ParamTensor> out;
    const int64_t gh = checked_mul(d.gates(), d.hidden, "gates*hidden_size");
    int64_t offset = 0;
    auto add = [&](std::string name, int32_t rank, int64_t rows, int64_t cols) {
        ParamTensor t{std::move(name), offset, rank, rows, cols};
        offset = checked_add(offset, checked_mul(rows, cols, "parameter size"), "parameter count");
        out.push_back(std::move(t));
    };
    for (int64_t layer = 0; layer < d.layers; ++layer) {
        for (int dir = 0; dir < d.directions; ++dir) {
            const std::string sfx = "_l" + std::to_string(layer) + (dir == 1 ? "_reverse" : "");
            add("weight_ih" + sfx, 2, gh, d.layer_input(layer));
            add("weight_hh" + sfx, 2, gh, d.hidden);
            add("bias_ih" + sfx, 1, gh, 1);
            add("bias_hh" + sfx, 1, gh, 1);
            if (d.cell == Cell::LstmPeephole) {
                add("peephole_i" + sfx, 1, d.hidden, 1);
                add("peephole_f" + sfx, 1, d.hidden, 1);
                add("peephole_o" + sfx, 1, d.hidden, 1);
            }
        }
    }
    return out;
}

LayerParams layer_params(const RnnDims& d, int64_t layer, int direction) {
    // Offsets follow directly from the packing order; computed without building the name list (hot path).
    const int64_t gh = d.gates() * d.hidden;
    auto block = [&](int64_t k) {
        return gh * d.layer_input(k) + gh * d.hidden + 2 * gh + (d.cell == Cell::LstmPeephole ? 3 * d.hidden : 0);
    };
    int64_t off = 0;
    for (int64_t k = 0; k < layer; ++k) off += block(k) * d.directions;
    off += block(layer) * direction;
    LayerParams p;
    p.w_ih = off;
    p.w_hh = p.w_ih + gh * d.layer_input(layer);
    p.b_ih = p.w_hh + gh * d.hidden;
    p.b_hh = p.b_ih + gh;
    if (d.cell == Cell::LstmPeephole) {
        p.p_i = p.b_hh + gh;
        p.p_f = p.p_i + d.hidden;
        p.p_o = p.p_f + d.hidden;
    }
    return p;
}

int64_t param_count(const RnnDims& d) {
    auto t = param_tensors(d);
    return t.empty() ? 0 : t.back().offset + t.back().size();
}

}  // namespace hpc
