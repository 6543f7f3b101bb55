/* HPC native core: the one C ABI.
 *
 * Conventions
 *  - Every function returns an int32_t status (HPC_OK = 0). On failure a message describing what went
 *    wrong is kept per thread and can be copied out with hpc_last_error().
 *  - Buffers are passed as pointer + element count (not bytes). Element type is given by the
 *    descriptor (HPC_DTYPE_FLOAT32 -> float, HPC_DTYPE_FLOAT64 -> double).
 *  - Optional buffers are passed as NULL with length 0.
 *  - Nothing is written to any output before every argument has been validated.
 */
#ifndef HPC_HPC_H
#define HPC_HPC_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(HPC_BUILDING_LIBRARY)
#    define HPC_API __declspec(dllexport)
#  else
#    define HPC_API __declspec(dllimport)
#  endif
#else
#  define HPC_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the ABI and library: major * 10000 + minor * 100 + patch. */
#define HPC_VERSION_MAJOR 0
#define HPC_VERSION_MINOR 1
#define HPC_VERSION_PATCH 0

/* Status codes. */
#define HPC_OK 0
#define HPC_ERR_INVALID_ARGUMENT 1 /* a null pointer, bad size, mismatched length or bad enum value */
#define HPC_ERR_OUT_OF_MEMORY 2    /* an allocation failed */
#define HPC_ERR_INVALID_STATE 3    /* the call is not valid now (e.g. backward without a training forward) */
#define HPC_ERR_INTERNAL 4         /* an unexpected internal failure; the message says more */

/* Element types. */
#define HPC_DTYPE_FLOAT32 1
#define HPC_DTYPE_FLOAT64 2

/* Recurrent cell kinds. Gate order and weight layout are PyTorch's (nn.RNN, nn.LSTM, nn.GRU). */
#define HPC_CELL_RNN_TANH 1      /* h = tanh(W_ih x + b_ih + W_hh h + b_hh)                      G = 1 */
#define HPC_CELL_RNN_RELU 2      /* h = relu(W_ih x + b_ih + W_hh h + b_hh)                      G = 1 */
#define HPC_CELL_LSTM 3          /* gates i,f,g,o                                                G = 4 */
#define HPC_CELL_LSTM_PEEPHOLE 4 /* LSTM + p_i*c_{t-1}, p_f*c_{t-1}, p_o*c_t                    G = 4 */
#define HPC_CELL_GRU 5           /* gates r,z,n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn))     G = 3 */

/* Returns the library version as major * 10000 + minor * 100 + patch. Never fails. */
HPC_API int32_t hpc_version(void);

/* Copies the calling thread's last error message into buf (NUL-terminated, truncated to len - 1 characters).
 * Returns the full length of the message (excluding the NUL); buf may be NULL when len is 0. */
HPC_API size_t hpc_last_error(char* buf, size_t len);

/* Describes a (possibly stacked, possibly bidirectional) recurrent network. */
typedef struct hpc_rnn_desc {
    int32_t cell;          /* HPC_CELL_* */
    int32_t dtype;         /* HPC_DTYPE_* */
    int64_t input_size;    /* I > 0 */
    int64_t hidden_size;   /* H > 0 */
    int64_t num_layers;    /* L > 0 */
    int32_t bidirectional; /* 0 or 1: D = 1 or 2 */
    int32_t batch_first;   /* 1: x [B,T,I], y [B,T,D*H]; 0: x [T,B,I], y [T,B,D*H] */
} hpc_rnn_desc;

/* Parameter packing. All parameters live in one flat buffer in PyTorch's order: for each layer k, for each
 * direction (forward, then "_reverse"): weight_ih_l{k} [G*H, I_k], weight_hh_l{k} [G*H, H], bias_ih_l{k} [G*H],
 * bias_hh_l{k} [G*H], and for HPC_CELL_LSTM_PEEPHOLE peephole_i_l{k}, peephole_f_l{k}, peephole_o_l{k} [H].
 * I_0 = input_size, I_k = D*H for k > 0. Each tensor is row-major and contiguous. */

/* Number of parameter tensors and total number of elements for a descriptor. */
HPC_API int32_t hpc_rnn_param_layout(const hpc_rnn_desc* desc, int64_t* num_tensors, int64_t* num_elements);

/* Name (NUL-terminated into name[name_len]), element offset in the flat buffer, rank (1 or 2) and shape of tensor
 * `index` (0 <= index < num_tensors). shape must have room for 2 entries; shape[1] = 1 for rank-1 tensors. */
HPC_API int32_t hpc_rnn_param_info(const hpc_rnn_desc* desc, int64_t index, char* name, size_t name_len,
                                   int64_t* offset, int32_t* rank, int64_t* shape);

typedef struct hpc_rnn hpc_rnn; /* a network plus its reusable workspace and the activations saved for backward */

/* Creates a network object for desc. The object is not thread-safe: use one per thread. */
HPC_API int32_t hpc_rnn_create(const hpc_rnn_desc* desc, hpc_rnn** out);
/* Destroys a network object; NULL is accepted. */
HPC_API int32_t hpc_rnn_destroy(hpc_rnn* rnn);

/* Forward pass over a batch of B sequences of T steps.
 *  x       [B,T,I] (or [T,B,I])                              x_len = B*T*I
 *  params  flat parameter buffer (see packing above)          params_len = num_elements
 *  h0, c0  [L*D, B, H] initial states, index layer*D + direction; NULL/0 means zeros. c0 only for LSTM cells.
 *  y       [B,T,D*H] (or [T,B,D*H]) output of the last layer  y_len = B*T*D*H
 *  hn, cn  [L*D, B, H] final states (optional, NULL/0 to skip). cn only for LSTM cells.
 * training != 0 saves the activations that hpc_rnn_backward needs (in the object's workspace); training == 0
 * saves nothing and invalidates any saved activations. Workspace memory grows to the largest shape seen and is
 * then reused, so repeated calls at one shape do not allocate. */
HPC_API int32_t hpc_rnn_forward(hpc_rnn* rnn, int32_t training, int64_t batch, int64_t seq_len,
                                const void* x, int64_t x_len, const void* params, int64_t params_len,
                                const void* h0, int64_t h0_len, const void* c0, int64_t c0_len,
                                void* y, int64_t y_len, void* hn, int64_t hn_len, void* cn, int64_t cn_len);

/* Calls with fixed weights: copies params into the object (float32 also packs every W_ih and W_hh for the product
 * kernels, about as much memory again); a forward given params == NULL and params_len == 0 then uses this copy and
 * packs nothing per call (oneDNN and cuDNN prepare their weights the same way). That holds for training forwards
 * too: hpc_rnn_backward given params == NULL then uses the same copy (its first such call packs every W_hh once more
 * for the backward steps, kept with the copy), e.g. for several micro-batches whose gradients
 * accumulate between two optimizer steps, freezing again after each step. Later changes to the caller's buffer are
 * not seen until it is frozen again. params == NULL and params_len == 0 releases the copy. Freezing or releasing
 * discards the activations saved by a training forward that ran on the old copy. Counted in
 * hpc_rnn_workspace_bytes. Results equal those of calls given the same params to rounding, bit for bit unless such
 * a call reads a weight in place (summing in another order): in forward, W_ih when T*B <= 32 and the layer's input
 * size is >= 256, W_hh at batch 1 over at most 32 steps when it is larger than 2 MB; in backward, W_hh at batch < 4
 * over at most 32 steps when H is a multiple of 16 and either H <= 128 or W_hh takes 2-8 MB. */
HPC_API int32_t hpc_rnn_freeze_params(hpc_rnn* rnn, const void* params, int64_t params_len);

/* Backward through time for the last training forward. x and params must be the ones that forward used; params ==
 * NULL and params_len == 0: the frozen copy (hpc_rnn_freeze_params), allowed when that forward ran on it.
 *  dy        [B,T,D*H] (or time-major) gradient of the loss w.r.t. y            required
 *  dhn, dcn  [L*D,B,H] gradients w.r.t. the final states; NULL/0 means zeros
 *  dx        [B,T,I] gradient w.r.t. x (optional)
 *  dh0, dc0  [L*D,B,H] gradients w.r.t. the initial states (optional)
 *  dparams   flat buffer like params: gradients of every weight and bias (optional);
 *            accumulate != 0 adds to its contents (PyTorch's .grad semantics), 0 overwrites them.
 *  dh_top    [B,T,D*H] (or time-major) total dL/dh_t of the last layer at every step, the recurrence included
 *            (optional; the signal of vanishing and exploding gradients). */
HPC_API int32_t hpc_rnn_backward(hpc_rnn* rnn, const void* x, int64_t x_len, const void* params, int64_t params_len,
                                 const void* dy, int64_t dy_len, const void* dhn, int64_t dhn_len,
                                 const void* dcn, int64_t dcn_len, void* dx, int64_t dx_len, void* dh0,
                                 int64_t dh0_len, void* dc0, int64_t dc0_len, void* dparams, int64_t dparams_len,
                                 int32_t accumulate, void* dh_top, int64_t dh_top_len);

/* Memory-efficient BPTT: with every > 0, a training forward keeps the layer outputs and the LSTM cell state only at
 * every `every`-th step instead of every gate activation, and backward recomputes each segment's activations from
 * its checkpoint. Gradients are identical to the plain path (bit for bit); the saving grows with layers x
 * directions (query hpc_rnn_workspace_bytes). 0 turns it off. Invalidates saved activations. */
HPC_API int32_t hpc_rnn_set_checkpointing(hpc_rnn* rnn, int64_t every);

/* Bytes of workspace the object currently holds (grows with the largest shape used), frozen parameters included. */
HPC_API int32_t hpc_rnn_workspace_bytes(const hpc_rnn* rnn, int64_t* bytes);

/* ---- Hidden Markov models (float64) ------------------------------------------------------------------------
 * A batch of S sequences is passed concatenated: rows [start_s, start_s + lengths[s]) of every [N, ...] array
 * belong to sequence s, in order; lengths[s] > 0 and sum(lengths) = N. Probabilities follow hmmlearn:
 * startprob [K] and every row of transmat [K, K] are non-negative and sum to 1 (within 1e-6); zeros are allowed
 * (left-right and other constrained topologies). Emission log-densities log_emission [N, K] may be -inf (an
 * impossible emission) but not NaN or +inf.
 * Threads: sequences run in groups (one per thread, hpc_set_num_threads) on HPC's thread team, diagonal/spherical
 * Gaussian densities and statistics in fixed chunks of rows. Per-sequence results (likelihoods, posteriors, paths),
 * the densities and the Gaussian statistics do not depend on the thread count; the summed forward-backward statistics
 * (xi_sum, start_sum) add one partial sum per group, so their last bits can. The BLAS runs on one thread inside these calls (its idle workers would otherwise spin
 * beside HPC's). Memory: forward-backward, Viterbi (up to 64 states), the Gaussian densities and statistics keep
 * per-thread scratch rows ([N, K] and [N, D] arrays; Viterbi [N, K] back pointers up to 16 states, [N, 8 ceil(K/8)]
 * scores above; hpc_hmm_gaussian_e_step's [N, K] densities) that grow to the largest call seen on that thread and are
 * reused by its later calls (freed when the thread exits). */

/* scaled probability space: emission log-densities shifted by each step's maximum, each step's forward variables
 * scaled by a power of two (up to 64 states) or by their sum (beyond). A state whose forward variable falls more
 * than about 709 nats below its row's sum is lost (subnormal, then 0), which is harmless while every state can be
 * reached from the others (its paths are dominated by the row's), so: with a transition below 1e-100 (zeros:
 * left-right models) the log-space implementation runs instead, as it does for a group whose step cannot be scaled
 * (a row sum below 1e-280). */
#define HPC_HMM_SCALING 0
/* log space: each step shifted by the previous step's maximum, then a matrix product and a log; where a state's
 * product underflows although a state it is connected to is finite (its connected states all more than about 645
 * nats below an unconnected one), the sequence group is redone with a log-sum-exp of each term, as hmmlearn's log
 * implementation computes everything (K^2 exp a step: slower, the same results). */
#define HPC_HMM_LOG 1

#define HPC_COVARIANCE_SPHERICAL 1 /* covars [K] */
#define HPC_COVARIANCE_DIAG 2      /* covars [K, D] */
#define HPC_COVARIANCE_FULL 3      /* covars [K, D, D] */
#define HPC_COVARIANCE_TIED 4      /* covars [D, D] */

/* Forward-backward over a batch of sequences.
 *  seq_loglik [S]      log-likelihood of each sequence (required)
 *  posteriors [N, K]   state posteriors gamma (optional)
 *  xi_sum [K, K]       expected transition counts summed over all steps and sequences (optional)
 *  start_sum [K]       sum over sequences of gamma at the first step (optional)
 *  seq_loglik_backward [S]  log-likelihood recomputed from the backward variables (optional; a consistency check)
 * With only seq_loglik, just the forward pass runs. A sequence of zero probability gives -inf in seq_loglik;
 * if any optional output is requested that is an error (HPC_ERR_INVALID_ARGUMENT naming the sequence). */
HPC_API int32_t hpc_hmm_forward_backward(int32_t mode, int64_t n_states, int64_t n_seqs, const int64_t* lengths,
                                         int64_t n_samples, const double* log_emission, int64_t log_emission_len,
                                         const double* startprob, int64_t startprob_len, const double* transmat,
                                         int64_t transmat_len, double* seq_loglik, int64_t seq_loglik_len,
                                         double* posteriors, int64_t posteriors_len, double* xi_sum,
                                         int64_t xi_sum_len, double* start_sum, int64_t start_sum_len,
                                         double* seq_loglik_backward, int64_t seq_loglik_backward_len);

/* Viterbi decoding in log space: path [N] (one state per row), seq_logprob [S]. Ties go to the lowest state. */
HPC_API int32_t hpc_hmm_viterbi(int64_t n_states, int64_t n_seqs, const int64_t* lengths, int64_t n_samples,
                                const double* log_emission, int64_t log_emission_len, const double* startprob,
                                int64_t startprob_len, const double* transmat, int64_t transmat_len, int64_t* path,
                                int64_t path_len, double* seq_logprob, int64_t seq_logprob_len);

/* Gaussian emission log-densities out [N, K] of x [N, D] for means [K, D] and covars in the compact shape of
 * covariance_type. Variances must be > 0; full/tied matrices symmetric and positive definite (a failed Cholesky
 * factorisation is retried with min_covar added to the diagonal, as hmmlearn does). */
HPC_API int32_t hpc_hmm_gaussian_loglik(int32_t covariance_type, int64_t n_states, int64_t n_features,
                                        int64_t n_samples, const double* x, int64_t x_len, const double* means,
                                        int64_t means_len, const double* covars, int64_t covars_len,
                                        double min_covar, double* out, int64_t out_len);

/* Viterbi decoding of Gaussian emissions: hpc_hmm_gaussian_loglik then hpc_hmm_viterbi in one call, the same path
 * [N] and seq_logprob [S] (bit for bit) and the same argument checks. Where hpc_hmm_gaussian_viterbi_fuses (spherical
 * and diagonal covariances, up to 16 states, from 17 to 32 with the AVX2 HMM kernels (hpc_backend_info), and from 33
 * to 64 with n_samples * n_states >= 1,000,000) the log-densities are computed inside the Viterbi pass (no [N, K]
 * array); otherwise an [N, K] array is allocated inside (a caller that calls repeatedly may rather pass its own to
 * hpc_hmm_gaussian_viterbi_with_scratch). A log-density that is NaN or +inf (the terms overflow) is an error naming
 * the row and state. On an error path and seq_logprob are unspecified. */
HPC_API int32_t hpc_hmm_gaussian_viterbi(int32_t covariance_type, int64_t n_states, int64_t n_features, int64_t n_seqs,
                                         const int64_t* lengths, int64_t n_samples, const double* x, int64_t x_len,
                                         const double* means, int64_t means_len, const double* covars,
                                         int64_t covars_len, double min_covar, const double* startprob,
                                         int64_t startprob_len, const double* transmat, int64_t transmat_len,
                                         int64_t* path, int64_t path_len, double* seq_logprob,
                                         int64_t seq_logprob_len);

/* hpc_hmm_gaussian_viterbi with the caller's scratch for the [N, K] log-densities where it does not fuse: scratch
 * [n_samples * n_states] (or NULL with scratch_len 0: allocated inside), overlapping no other argument; its contents on
 * return are unspecified. The densities are checked as they are written, so the call makes no separate pass over
 * them as hpc_hmm_gaussian_loglik then hpc_hmm_viterbi do (that pass reads the array back from memory: at K 32 and
 * 100,000 rows, 26 MB and 9 % of the decode). The same results and errors as hpc_hmm_gaussian_viterbi. */
HPC_API int32_t hpc_hmm_gaussian_viterbi_with_scratch(int32_t covariance_type, int64_t n_states, int64_t n_features,
                                                      int64_t n_seqs, const int64_t* lengths, int64_t n_samples,
                                                      const double* x, int64_t x_len, const double* means,
                                                      int64_t means_len, const double* covars, int64_t covars_len,
                                                      double min_covar, const double* startprob, int64_t startprob_len,
                                                      const double* transmat, int64_t transmat_len, int64_t* path,
                                                      int64_t path_len, double* seq_logprob, int64_t seq_logprob_len,
                                                      double* scratch, int64_t scratch_len);

/* 1 if hpc_hmm_gaussian_viterbi computes the densities inside its pass for this covariance type, state count and
 * row count (where that measured faster than the two calls), else 0 (also for values the call would refuse). */
HPC_API int32_t hpc_hmm_gaussian_viterbi_fuses(int32_t covariance_type, int64_t n_states, int64_t n_samples);

/* The E-step of one EM iteration for spherical or diagonal Gaussian emissions: the values of hpc_hmm_gaussian_loglik,
 * then hpc_hmm_forward_backward in mode (seq_loglik [S]; xi_sum [K, K] and start_sum [K] optional), then
 * hpc_hmm_gaussian_stats of its posteriors (post_sum [K], obs [K, D]; obs2 [K, D] optional), without the posteriors:
 * up to 64 states the backward pass adds each posterior row to the statistics as it makes it (no [N, K] posteriors
 * written and read back). The statistics are then summed in another order than hpc_hmm_gaussian_stats's (equal up to
 * rounding) and, like xi_sum, their last bits depend on the thread count (one partial sum per group of sequences).
 * Errors: the arguments of those calls, a log-density that is NaN or +inf (naming the row and state), a sequence of
 * zero probability. On an error the outputs are unspecified. */
HPC_API int32_t hpc_hmm_gaussian_e_step(int32_t mode, int32_t covariance_type, int64_t n_states, int64_t n_features,
                                        int64_t n_seqs, const int64_t* lengths, int64_t n_samples, const double* x,
                                        int64_t x_len, const double* means, int64_t means_len, const double* covars,
                                        int64_t covars_len, const double* startprob, int64_t startprob_len,
                                        const double* transmat, int64_t transmat_len, double* seq_loglik,
                                        int64_t seq_loglik_len, double* xi_sum, int64_t xi_sum_len, double* start_sum,
                                        int64_t start_sum_len, double* post_sum, int64_t post_sum_len, double* obs,
                                        int64_t obs_len, double* obs2, int64_t obs2_len);

/* Viterbi decoding of categorical emissions: hpc_hmm_categorical_loglik then hpc_hmm_viterbi in one call, the same
 * path [N] and seq_logprob [S] (bit for bit) and the same argument checks. Up to 64 states each row's
 * log-probabilities are looked up inside the Viterbi pass (no [N, K] array: at K 64 and 100,000 rows 51 MB not
 * written, checked and read back); above, an [N, K] array is allocated inside. The log of a probability is finite
 * or -inf, so the values need no check. On an error path and seq_logprob are unspecified. */
HPC_API int32_t hpc_hmm_categorical_viterbi(int64_t n_states, int64_t n_symbols, int64_t n_seqs, const int64_t* lengths,
                                            int64_t n_samples, const int64_t* symbols, int64_t symbols_len,
                                            const double* emissionprob, int64_t emissionprob_len,
                                            const double* startprob, int64_t startprob_len, const double* transmat,
                                            int64_t transmat_len, int64_t* path, int64_t path_len, double* seq_logprob,
                                            int64_t seq_logprob_len);

/* Categorical emission log-probabilities out [N, K] of symbols [N] in [0, M) for emissionprob [K, M]. */
HPC_API int32_t hpc_hmm_categorical_loglik(int64_t n_states, int64_t n_symbols, int64_t n_samples,
                                           const int64_t* symbols, int64_t symbols_len, const double* emissionprob,
                                           int64_t emissionprob_len, double* out, int64_t out_len);

/* Expected sufficient statistics of Gaussian emissions for posteriors [N, K]: post_sum [K], obs [K, D] = gamma^T x,
 * obs2 [K, D] = gamma^T x^2 (optional), obs_outer [K, D, D] = sum_n gamma_nk x_n x_n^T (optional). */
HPC_API int32_t hpc_hmm_gaussian_stats(int64_t n_states, int64_t n_features, int64_t n_samples, const double* x,
                                       int64_t x_len, const double* posteriors, int64_t posteriors_len,
                                       double* post_sum, int64_t post_sum_len, double* obs, int64_t obs_len,
                                       double* obs2, int64_t obs2_len, double* obs_outer, int64_t obs_outer_len);

/* Expected symbol counts counts [K, M] = sum_n gamma_nk [symbols_n == m]. */
HPC_API int32_t hpc_hmm_categorical_stats(int64_t n_states, int64_t n_symbols, int64_t n_samples,
                                          const int64_t* symbols, int64_t symbols_len, const double* posteriors,
                                          int64_t posteriors_len, double* counts, int64_t counts_len);

/* ---- Training: optimizers, gradient clipping, GEMM ---------------------------------------------------------
 * A parameter set is n tensors given as arrays of pointers (params[i], grads[i], optimizer state) and element
 * counts lengths[i] > 0, all of the element type dtype. Every optimizer updates all tensors in one call. */

#define HPC_OPTIM_SGD 1      /* lr, momentum, dampening, nesterov, weight_decay            state1 = momentum buffer */
#define HPC_OPTIM_RMSPROP 2  /* lr, alpha, eps, momentum, weight_decay                      state1 = square_avg, state2 = momentum buffer */
#define HPC_OPTIM_ADAM 3     /* lr, beta1, beta2, eps, weight_decay (L2 added to the gradient)  state1 = exp_avg, state2 = exp_avg_sq */
#define HPC_OPTIM_ADAMW 4    /* lr, beta1, beta2, eps, weight_decay (decoupled)             state1 = exp_avg, state2 = exp_avg_sq */
#define HPC_OPTIM_ADAGRAD 5  /* lr, lr_decay, eps, weight_decay, initial_accumulator_value   state1 = sum of squares */

/* Hyper-parameters; update rules and defaults as in PyTorch 1.13's torch.optim (non-amsgrad, non-centered). */
typedef struct hpc_optim_hparams {
    double lr;
    double momentum;
    double dampening;
    int32_t nesterov;
    double weight_decay;  /* L2 (AdamW: decoupled decay) */
    double l1;            /* L1 penalty: l1 * sign(param) is added to the gradient (all optimizers) */
    double alpha;         /* RMSProp smoothing */
    double beta1, beta2;  /* Adam, AdamW */
    double eps;
    double lr_decay;                  /* Adagrad */
    double initial_accumulator_value; /* Adagrad: state1 is set to it at step 1 */
} hpc_optim_hparams;

/* One optimizer step; step is the 1-based step count (state buffers are initialised at step 1, as PyTorch does
 * lazily). Parameters and state are updated in place; gradients are only read. Nothing is written unless every
 * argument is valid. */
HPC_API int32_t hpc_optim_step(int32_t algorithm, int32_t dtype, const hpc_optim_hparams* hparams, int64_t step,
                               int64_t n_tensors, void* const* params, void* const* grads, void* const* state1,
                               void* const* state2, const int64_t* lengths);

/* Scales all gradients so that their joint norm (2 or infinity) is at most max_norm, like
 * torch.nn.utils.clip_grad_norm_ (coefficient max_norm / (norm + 1e-6), capped at 1). total_norm receives the norm
 * before clipping. norm_type: 2 or INFINITY. */
HPC_API int32_t hpc_clip_grad_norm(int32_t dtype, int64_t n_tensors, void* const* grads, const int64_t* lengths,
                                   double max_norm, double norm_type, double* total_norm);

/* Clamps every gradient element to [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_). */
HPC_API int32_t hpc_clip_grad_value(int32_t dtype, int64_t n_tensors, void* const* grads, const int64_t* lengths,
                                    double clip_value);

/* C[M,N] = alpha op(A) op(B) + beta C, row-major. Lengths are element counts of the buffers; every accessed element
 * must lie inside them. float32 with alpha = 1 and beta = 0 or 1 runs HPC's own packed GEMM (the recurrent layers'
 * kernel; it keeps per-thread buffers, for B's panels and for a transposed A's k blocks, that grow to the largest
 * seen); everything else goes to the BLAS. */
HPC_API int32_t hpc_gemm(int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                         const void* a, int64_t a_len, int64_t lda, const void* b, int64_t b_len, int64_t ldb,
                         double beta, void* c, int64_t c_len, int64_t ldc);

/* The same product always through the linked BLAS (for comparisons: `hpc bench gemm --kernel blas`). */
HPC_API int32_t hpc_gemm_blas(int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                              double alpha, const void* a, int64_t a_len, int64_t lda, const void* b, int64_t b_len,
                              int64_t ldb, double beta, void* c, int64_t c_len, int64_t ldc);

/* Describes the compute backend (e.g. "OpenBLAS 0.3.21 ... core=Haswell threads=2; float32 RNN kernel=avx512
 * team=2; HMM kernels=avx512": the BLAS, HPC's own float32 kernel and thread count, and the build of the HMM kernels
 * for up to 64 states that this CPU runs: avx512, avx2, sse2, or native) into buf (NUL-terminated, truncated to
 * len - 1); returns the full length. */
HPC_API size_t hpc_backend_info(char* buf, size_t len);

/* Number of threads the BLAS backend, the HMM kernels and HPC's float32 kernels (recurrent layers, hpc_gemm) use;
 * n <= 0 restores the default (one per hardware thread). */
HPC_API int32_t hpc_set_num_threads(int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* HPC_HPC_H */
