/*
** kernels.h: the numerical core of lua-nn, plain C on float arrays.
**
** No Lua, no allocation, no globals.  Sizes are passed in; shapes are given
** as [rows, cols] in row-major order.  An embedder or a test in C can call
** these directly.  Forward and backward of each operation sit side by side.
**
** Arrays marked restrict must not overlap (the bindings check): that is
** what lets the compiler vectorize these loops at -O2.  Kernels without
** it (k_axpby, k_affine, k_mul, ...) may work in place.
*/
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* for (i = 0; i < n; i++) body, in two loops: the first runs a multiple of
** 8 times, so GCC vectorizes it even at -O2 (whose "very cheap" cost model
** vectorizes no loop that would need a scalar remainder); the second does
** the remainder.  Worth it for cheap elementwise bodies. */
/* A function holding one K_FOR loop is kept out of line where the loop must
** vectorize: GCC 12 at -O2 gives up on such loops once several are inlined
** into one function behind branches. */
#if defined(__GNUC__)
#define K_NOINLINE __attribute__((noinline))
#else
#define K_NOINLINE
#endif

#define K_FOR(i, n, body)                                                   \
  do {                                                                      \
    size_t i, k_n8_ = (size_t)(n) & ~(size_t)7;                             \
    for (i = 0; i < k_n8_; i++) { body; }                                   \
    for (; i < (size_t)(n); i++) { body; }                                  \
  } while (0)

/* ---- random numbers: xoshiro256** (Blackman & Vigna), per owner -------- */

typedef struct Rng {
  uint64_t s[4];
  int hasspare;           /* Box-Muller makes normals two at a time */
  double spare;
} Rng;

void k_rng_seed(Rng *r, uint64_t seed);
uint64_t k_rng_next(Rng *r);
double k_rng_uniform(Rng *r);                      /* [0, 1) */
double k_rng_normal(Rng *r);                       /* N(0, 1) */
void k_rand(Rng *r, float *y, size_t n, float lo, float hi);
void k_randn(Rng *r, float *y, size_t n, float mean, float std);

/* ---- elementwise and reductions: k_matrix.c --------------------------- */

void k_fill(float *y, size_t n, float v);
void k_axpby(float *y, const float *a, float sa, const float *b, float sb,
             size_t n);                            /* y = sa*a + sb*b */
/* y[r,c] = sa*a[r,c] + sb*row[1,c] */
void k_axpby_row(float *y, const float *a, float sa, const float *row,
                 float sb, int r, int c);
void k_affine(float *y, const float *a, float sa, float s, size_t n);
                                                   /* y = sa*a + s */
/* the same in double, for scalars that float cannot hold (1e-39, 1e39):
** the result is rounded once, to float */
void k_affine_d(float *y, const float *a, double sa, double s, size_t n);
void k_mul(float *y, const float *a, const float *b, size_t n); /* y = a.*b */
void k_div(float *y, const float *a, const float *b, size_t n); /* y = a./b */
void k_divs(float *y, const float *a, float s, size_t n);   /* y = a / s */
/* y[i] = f(a[i]) for f one of these; p, q the parameters (pow: p is the
** exponent; clamp: p..q, NaN stays NaN) */
enum { K_EXP, K_LOG, K_SQRT, K_ABS, K_POW, K_CLAMP };
void k_map(int f, float *y, const float *a, size_t n, float p, float q);
/* mean and unbiased variance (divided by n - 1; NaN for n = 1) of n
** elements spaced stride apart, two passes in double */
void k_moments(const float *a, size_t n, size_t stride, double *mean,
               double *var);
void k_col(float *y, const float *a, int r, int c, int j);   /* y[r] = a[:,j] */
/* y[r, c] with rows ldy apart = x[r, c] with rows ldx apart */
void k_copy2d(float *restrict y, size_t ldy, const float *restrict x,
              size_t ldx, int r, int c);
/* the largest |a[i] - b[i]|; infinity where either is NaN */
double k_maxabsdiff(const float *a, const float *b, size_t n);
void k_transpose(float *y, const float *a, int r, int c); /* y[c,r] = a' */
double k_sum(const float *a, size_t n);
void k_sum_rows(float *y, const float *a, int r, int c);  /* y[1,c] */
void k_sum_cols(float *y, const float *a, int r, int c);  /* y[r,1] */
/* y[c] += the sums of the columns of a[r, c], rows lda apart, row by row */
void k_sum_rows_add(float *restrict y, const float *restrict a, int r, int c,
                    int lda);
size_t k_argmax(const float *a, size_t n);  /* first max; NaN counts as max */
size_t k_argmin(const float *a, size_t n);
double k_dot(const float *a, const float *b, size_t n);
int k_allfinite(const float *a, size_t n);
/* y[k,c] = x[idx[k],c], idx 0-based */
void k_gather_rows(float *y, const float *x, const int32_t *idx, int k, int c);

/* C[M,N] = alpha op(A) op(B) + beta C, row-major, op(X) = X or X^T (ta,
** tb); lda, ldb, ldc are the stored row lengths.  A product with one row
** or one column of output goes to sgemv: OpenBLAS runs that several times
** faster than the same sgemm (with its Haswell kernels, 9 us against 60 us
** for 1x784 by 784x256).  beta = 0 ignores C's old contents, NaN included. */
void k_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
            int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* ---- bytes to and from float: k_typed.c ----------------------------- */

/* y[n] = s[n] * scale, unsigned bytes (8-bit pixels) */
void k_frombytes(float *restrict y, const unsigned char *restrict s, size_t n,
                 float scale);
/* y[n] = round(255 (x - lo) / (hi - lo)) clamped to 0..255, NaN to 0;
** hi > lo (8-bit pixels from floats: the inverse of k_frombytes) */
void k_tobytes8(unsigned char *restrict y, const float *restrict x, size_t n,
                float lo, float hi);

/* y[n] from n elements of s, each w bytes (1, 2, 4 or 8), big-endian if
** big: K_FLOAT (w 2: IEEE half, 4: float, 8: double), K_BFLOAT (w 2:
** bfloat16), K_INT or K_UINT; doubles and wide integers are rounded */
enum { K_FLOAT, K_BFLOAT, K_INT, K_UINT };
void k_fromtyped(float *restrict y, const unsigned char *restrict s,
                 size_t n, int kind, int w, int big);

/* ---- the own SGEMM: k_gemm.c ------------------------------------------- */

/* The same product as k_gemm, without a BLAS (k_gemm calls it when built
** with -DNN_BLAS_NONE): cache-blocked and packed, single-threaded, with a
** micro-kernel chosen at run time (AVX2+FMA or portable C; the environment
** variable NN_GEMM=portable forces the portable one).  alpha 0 or K 0
** reads neither A nor B; beta 0 ignores C's old contents, NaN included.
** No allocation: it packs into at most NN_GEMM_STACK bytes of stack. */
void k_sgemm(int ta, int tb, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta,
             float *C, int ldc);
/* k_sgemm with a workspace of nws floats (ws NULL: none): where it holds
** k_sgemm_wsize(M, N, K) floats (0: none would help), each block of B is
** packed once instead of once for every block of A's rows; the same bits
** either way */
size_t k_sgemm_wsize(int M, int N, int K);
void k_sgemm_ws(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc, float *ws, size_t nws);
/* op(B) [K, N] packed once for many products with it (an RNN's W_hh, one
** product a step): k_sgemm_pack writes it into bp, k_sgemm_packsize(N, K)
** floats; k_sgemm_packed is then C[M, N] = alpha op(A) op(B)[:, j0 ..
** j0 + N - 1] + beta C, op(B) being bn columns wide and j0 a multiple of
** 32.  Always the blocked kernels (no matrix-vector path for M or N of
** 1), so each row of C has the same bits whichever rows are asked for. */
size_t k_sgemm_packsize(int N, int K);
void k_sgemm_pack(int tb, int N, int K, const float *B, int ldb, float *bp);
void k_sgemm_packed(int ta, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *bp, int bn, int j0, float beta,
                    float *C, int ldc);
/* the name of the micro-kernel k_sgemm runs now: "portable", "avx2", ... */
const char *k_sgemm_kernel(void);

/* ---- pointwise activations: k_act.c --------------------------------- */
/* y = f(x) and gx = gy f'(x), n elements; y is the forward output for the
** same x; gx overlaps none of x, y, gy.  `a` is the kind's parameter
** (LeakyReLU slope, ELU alpha, Softplus beta), unused otherwise.  Every
** pair has these two signatures, so a layer kind holds pointers to them. */
#define K_ACTIVATION(name)                                                  \
  void k_##name##_forward(float *restrict y, const float *restrict x,       \
                          size_t n, float a);                               \
  void k_##name##_backward(float *restrict gx, const float *x,              \
                           const float *y, const float *gy, size_t n,       \
                           float a);
K_ACTIVATION(identity)
K_ACTIVATION(sigmoid)
K_ACTIVATION(tanh)
K_ACTIVATION(relu)
K_ACTIVATION(leakyrelu)
K_ACTIVATION(elu)
K_ACTIVATION(softplus)
K_ACTIVATION(piecewise)
K_ACTIVATION(gelu)              /* x Phi(x), Phi the normal CDF (erf) */
K_ACTIVATION(gelutanh)          /* its tanh approximation */
/* Step (Heaviside, 1/2 at 0) and Sign; their derivative is 0 */
void k_step_forward(float *restrict y, const float *restrict x, size_t n,
                    float a);
void k_sign_forward(float *restrict y, const float *restrict x, size_t n,
                    float a);
void k_zero_backward(float *restrict gx, const float *x, const float *y,
                     const float *gy, size_t n, float a);

/* ---- softmax and dropout: k_dense.c ---------------------------------- */

/* Softmax over each row, stable: exp(x - max) / sum.  x,y,gy,gx [n,c] */
void k_softmax_forward(float *restrict y, const float *restrict x, int n,
                       int c);
void k_softmax_backward(float *restrict gx, const float *y, const float *gy,
                        int n, int c);     /* gx = y .* (gy - sum(gy .* y)) */
void k_logsoftmax_forward(float *restrict y, const float *restrict x, int n,
                          int c);
void k_logsoftmax_backward(float *restrict gx, const float *y,
                           const float *gy, int n,
                           int c);         /* gx = gy - exp(y) sum(gy) */

/* Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p). */
void k_dropout_mask(Rng *r, float *mask, size_t n, float p);
/* ---- Embedding: k_dense.c ------------------------------------------------ */
/* y[k, D] = w[ids[k] - 1, D] for the m ids, whole numbers from 1 to the
** rows of w (the caller checks them) */
void k_embedding_forward(float *restrict y, const float *restrict w,
                         const float *restrict ids, size_t m, int D);
/* gw[ids[k] - 1, D] += gy[k, D], only the rows used, except those of id
** skip (0: none) */
void k_embedding_backward(float *restrict gw, const float *restrict gy,
                          const float *restrict ids, size_t m, int D,
                          int skip);
/* every row of w that an id names, whose p-norm (p > 0, or infinity) is
** above maxnorm, scaled to maxnorm / (norm + 1e-7), as PyTorch's max_norm */
void k_embedding_renorm(float *w, const float *ids, size_t m, int D,
                        float maxnorm, float p);

/* ---- convolution and pooling: k_conv.c -------------------------------- */
/* Images are (C, H, W) row-major, one per row of a batch x[n, C*H*W].  A
** window: kernel kh x kw, stride, padding (zeros for convolution, ignored
** by pooling) and dilation; the output is OH x OW with
** OH = (H + 2 ph - dh (kh - 1) - 1) / sh + 1, the same for OW. */
typedef struct KWindow {
  int kh, kw, sh, sw, ph, pw, dh, dw;
} KWindow;

/* cols[C*kh*kw, OH*OW] with rows ld apart: row (c, ki, kj) holds
** x[c, oy sh - ph + ki dh, ox sw - pw + kj dw] at column (oy, ox), 0 in
** the padding; col2im sums cols back into x[C, H, W] (it overwrites x) */
void k_im2col(float *restrict cols, size_t ld, const float *restrict x, int C,
              int H, int W, const KWindow *w, int OH, int OW);
void k_col2im(float *restrict x, const float *restrict cols, size_t ld,
              int C, int H, int W, const KWindow *w, int OH, int OW);
/* im2col + the own SGEMM, one image at a time, cols (C kh kw x OH OW
** floats) the scratch.  y[n, O*OH*OW] = conv(x[n, C*H*W], wt[O, C*kh*kw])
** + b[O] (b may be NULL) for images i0 .. i1 - 1 */
void k_conv2d_forward(float *restrict y, const float *restrict x,
                      const float *wt, const float *b, float *cols, int i0,
                      int i1, int C, int H, int W, int O, const KWindow *w,
                      int OH, int OW);
/* gx = dL/dx for images i0 .. i1 - 1 */
void k_conv2d_backx(float *gx, const float *wt, const float *restrict gy,
                    float *cols, int i0, int i1, int C, int H, int W, int O,
                    const KWindow *w, int OH, int OW);
/* gw[O, C*kh*kw] += dL/dW over all n images, the columns of input
** channels c0 .. c1 - 1 */
void k_conv2d_backw(float *gw, const float *restrict x,
                    const float *restrict gy, float *cols, int n, int c0,
                    int c1, int C, int H, int W, int O, const KWindow *w,
                    int OH, int OW);
/* ---- direct convolution of stride 1: k_direct.c ------------------------ */
/* A convolution's shapes: n images x[n, C, H, W] through window w to
** y[n, O, OH, OW] */
typedef struct KConvShape {
  int n, C, H, W, O, OH, OW;
  KWindow w;
} KConvShape;
/* the direct kernels in use: 2 AVX-512, 1 AVX2+FMA, 0 none (then
** k_dconv_fits is false) */
int k_direct_isa(void);
/* whether they take this convolution: stride 1, dilation 1, padding less
** than the kernel, kw from 2 to 7 */
int k_dconv_fits(const KConvShape *s);
/* Scratch floats for dir 0 (forward), 1 (dL/dx), 2 (dL/dW): shared by
** the parts of one call, and private to each part (each thread) */
size_t k_dconv_shared(const KConvShape *s, int dir);
size_t k_dconv_private(const KConvShape *s, int dir);
/* fills the shared scratch of dir 0 or 1 from the weights wt[O, C kh kw] */
void k_dconv_prepare(float *shared, const float *wt, const KConvShape *s,
                     int dir);
/* y = conv(x) + b (b may be NULL) for images i0..i1-1, after prepare 0 */
void k_dconv_forward(float *y, const float *x, const float *b,
                     const float *shared, float *priv, const KConvShape *s,
                     int i0, int i1);
/* gx = dL/dx from gy for images i0..i1-1, after prepare 1 */
void k_dconv_backx(float *gx, const float *gy, const float *shared,
                   float *priv, const KConvShape *s, int i0, int i1);
/* dL/dW in k_dconv_wtiles tiles over k_dconv_wchunks chunks of images
** (a count of the shape alone): backw sums chunk ch's images for tiles
** t0..t1-1, and for dL/db's channels o0..o1-1 if db, from zero into its
** region of the shared scratch of dir 2; then wreduce adds every chunk's
** sums of tiles t0..t1-1 to gw[O, C kh kw], and of channels o0..o1-1 to
** gb (may be NULL), in chunk order (a pixel tile's lanes over the chunks
** in double first): the same bits however the chunks and tiles are split
** among threads */
int k_dconv_wtiles(const KConvShape *s);
int k_dconv_wchunks(const KConvShape *s);
void k_dconv_backw(float *shared, const float *x, const float *gy,
                   float *priv, const KConvShape *s, int ch, int t0, int t1,
                   int o0, int o1, int db);
void k_dconv_wreduce(float *gw, float *gb, const float *shared,
                     const KConvShape *s, int t0, int t1, int o0, int o1);
/* max over each window of each channel (NaN wins, as in PyTorch);
** backward gives each window's gy to its maximum, found again in x (y
** is forward's output for the same x): the last NaN, or the first of
** equal maxima, as PyTorch */
void k_maxpool2d_forward(float *restrict y, const float *restrict x, int n,
                         int C, int H, int W, const KWindow *w, int OH,
                         int OW);
void k_maxpool2d_backward(float *restrict gx, const float *restrict x,
                          const float *restrict y, const float *restrict gy,
                          int n, int C, int H, int W, const KWindow *w,
                          int OH, int OW);
/* the same for a 2 x 2 window of stride 2 without padding, vectorized
** (k_direct.c; H, W >= 2): 1 if done, 0 where these kernels do not run */
int k_maxpool22_forward(float *y, const float *x, int planes, int H, int W);
int k_maxpool22_backward(float *gx, const float *x, const float *y,
                         const float *gy, int planes, int H, int W);
/* mean over each window; inpad: the padding counts in the divisor
** (PyTorch's count_include_pad, its default) */
void k_avgpool2d_forward(float *restrict y, const float *restrict x, int n,
                         int C, int H, int W, const KWindow *w, int OH,
                         int OW, int inpad);
void k_avgpool2d_backward(float *restrict gx, const float *restrict gy,
                          int n, int C, int H, int W, const KWindow *w,
                          int OH, int OW, int inpad);

/* ---- batch normalization: k_norm.c ---------------------------------- */

/* Batch normalization per channel of x[n, C, S] (S = H W for images, 1
** for features): y = gamma (x - mean) invstd + beta, gamma and beta [C]
** or NULL.  In training, forward uses and records the batch's statistics
** (mean[C], invstd[C] out) and moves rmean, rvar [C], channels c0 .. c1
** - 1 only (each channel's arrays are its own).  In evaluation,
** evalstats sets mean and invstd from rmean and rvar, and rows then
** normalizes rows (images) i0 .. i1 - 1. */
void k_batchnorm_forward(float *restrict y, const float *restrict x,
                         const float *gamma, const float *beta,
                         float *restrict rmean, float *restrict rvar,
                         float *restrict mean, float *restrict invstd, int n,
                         int C, int S, int c0, int c1, float eps,
                         float momentum);
void k_batchnorm_evalstats(const float *rmean, const float *rvar,
                           float *mean, float *invstd, int C, float eps);
void k_batchnorm_rows(float *restrict y, const float *restrict x,
                      const float *gamma, const float *beta,
                      const float *mean, const float *invstd, int C, int S,
                      int i0, int i1);
void k_batchnorm_backward(float *restrict gx, float *ggamma, float *gbeta,
                          const float *restrict x, const float *restrict gy,
                          const float *gamma, const float *mean,
                          const float *invstd, int n, int C, int S, int c0,
                          int c1, int train);

/* Layer normalization of x[m, D], each vector by its own mean and biased
** variance: y = gamma (x - mean) / sqrt(var + eps) + beta, gamma and beta
** [D] or NULL.  Backward computes the statistics again from x;
** gx, ggamma and gbeta (accumulated) may be NULL. */
void k_layernorm_forward(float *restrict y, const float *restrict x,
                         const float *gamma, const float *beta, size_t m,
                         int D, float eps);
void k_layernorm_backward(float *restrict gx, float *ggamma, float *gbeta,
                          const float *restrict x, const float *restrict gy,
                          const float *gamma, size_t m, int D, float eps);
/* ---- recurrent layers: k_rnn.c ------------------------------------------ */
/* One direction of one layer of an Elman RNN (tanh or ReLU), an LSTM or a
** GRU over T steps of a batch of n, as PyTorch's (gate order i, f, g, o
** and r, z, n).  Time-major: x[T, n, D] is T n rows of D.  G = 1, 4 or 3
** gates: w_ih[G H, D], w_hh[G H, H], b_ih and b_hh [G H] or NULL.
** The states of every step, hs[T + 1, n, H] (and the LSTM's cells cs, the
** same), in time order for both directions: forward, slot 0 holds h0 and
** slot t + 1 the state after step t (t = 0..T-1); reverse (steps run
** T-1..0), slot T holds h0 and slot t the state after step t.  The
** outputs are slots 1..T (forward) or 0..T-1 (reverse): T n rows, in time
** order either way. */
enum { K_RNN_TANH, K_RNN_RELU, K_LSTM, K_GRU };
/* C = alpha op(A) op(B) + beta C as k_gemm computes it, on whatever the
** caller's ctx gives it (the state's threads) */
typedef void (*KGemm)(void *ctx, int ta, int tb, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);
/* parts 0 .. nparts - 1 of a task, each once, on whatever threads ctx
** has, returning when all are done (pool.h's nn_parallel) */
typedef void (*KTask)(void *arg, int part, int thread);
typedef void (*KPar)(void *ctx, KTask fn, void *arg, int nparts);
typedef struct KRnn {
  int cell;                   /* K_RNN_TANH, K_RNN_RELU, K_LSTM or K_GRU */
  int T, n, D, H;             /* steps, batch, input size, hidden size */
  int rev;                    /* the reverse direction */
  KGemm gemm;                 /* the products; NULL: k_gemm */
  void *gctx;                 /* the caller's threads, for gemm and par */
  /* wp: NULL, or scratch of k_rnn_packsize floats for W_hh packed once a
  ** pass (k_sgemm_pack), each step then one job of par's in parts of
  ** the batch's rows: the step's product and its gates, row by row, so
  ** the same bits for any number of parts, at most parts of them */
  float *wp;
  KPar par;
  int parts;
} KRnn;
/* the floats of wp for forward (grad 0) or backward (grad 1) */
size_t k_rnn_packsize(int cell, int H, int grad);
int k_rnn_gates(int cell);    /* G */
/* Forward, h0 (and c0) in their slots: fills every other slot; g[T, n,
** G H] (LSTM, GRU; NULL for RNN) gets the gates' activations and hn[T, n,
** H] (GRU, else NULL) h' W_hn^T + b_hn of each step, for backward.  tmp:
** 2 G H + n G H floats of scratch. */
void k_rnn_forward(const KRnn *s, const float *x, const float *wih,
                   const float *whh, const float *bih, const float *bhh,
                   float *hs, float *cs, float *g, float *hn, float *tmp);
/* Backward through time from forward's hs, cs, g, hn (and the same x,
** weights): dy the gradient of the outputs, row (t, b) at dy + (t n + b)
** ldy.  dx[T n, D] = dL/dx (added to it with accx; NULL: not wanted);
** dw_ih, dw_hh, db_ih, db_hh (NULL if none) accumulate; dh0, dc0 [n, H]
** (dc0 LSTM only, else NULL) get dL/dh0 and dL/dc0.  dg[T, n, G H], and
** for GRU dgh[T, n, G H] (else NULL), are scratch. */
void k_rnn_backward(const KRnn *s, const float *x, const float *wih,
                    const float *whh, const float *hs, const float *cs,
                    const float *g, const float *hn, const float *dy,
                    int ldy, float *dx, int accx, float *dwih, float *dwhh,
                    float *dbih, float *dbhh, float *dh0, float *dc0,
                    float *dg, float *dgh);
/* tanh and the sigmoid of the recurrent kernels (about 2 ulp, vectorized) */
void k_tanh_fast(float *restrict y, const float *restrict x, size_t n);
void k_sigmoid_fast(float *restrict y, const float *restrict x, size_t n);

/* ---- losses: k_loss.c ------------------------------------------------- */
/* Every loss returns the SUM over the batch; the caller scales by the
** reduction.  Backward kernels write g = scale * dL/dx.  Targets are either
** class indices t[n] (0-based; negative: the row is ignored, adding 0 and
** getting gradient 0) or a dense matrix y[n,c]. */

/* cross-entropy on logits, fused log-softmax: -sum log softmax(x)[t] */
double k_xent_forward(const float *x, const int32_t *t, const float *y,
                      int n, int c);
void k_xent_backward(float *restrict g, const float *x, const int32_t *t,
                     const float *y, int n, int c, float scale);
/* negative log-likelihood on log-probabilities: -sum x[t] */
double k_nll_forward(const float *x, const int32_t *t, const float *y, int n,
                     int c);
void k_nll_backward(float *restrict g, const int32_t *t, const float *y, int n, int c,
                    float scale);
double k_mse_forward(const float *x, const float *y, size_t n);
void k_mse_backward(float *restrict g, const float *x, const float *y, size_t n,
                    float scale);
double k_l1_forward(const float *x, const float *y, size_t n);
void k_l1_backward(float *restrict g, const float *x, const float *y, size_t n,
                   float scale);
/* binary cross-entropy on probabilities, logs clamped at -100 (as PyTorch) */
double k_bce_forward(const float *p, const float *y, size_t n);
void k_bce_backward(float *restrict g, const float *p, const float *y, size_t n,
                    float scale);
double k_bcelogits_forward(const float *x, const float *y, size_t n);
void k_bcelogits_backward(float *restrict g, const float *x, const float *y, size_t n,
                          float scale);

/* ---- optimizer updates: k_optim.c -------------------------------------- */
/* One pass over one parameter p[n] with gradient g[n] and its state. */

/* SGD (Sutskever et al. 2013 form, as PyTorch): d = g + wd p;
** buf = mom buf + (1 - damp) d (buf = d on the first step);
** d = nesterov ? d + mom buf : buf;  p -= lr d */
void k_sgd(float *restrict p, const float *restrict g, float *restrict buf,
           size_t n, float lr, float mom, float damp, float wd, int nesterov,
           int first);
/* Adam (Kingma & Ba 2015); decoupled = AdamW (Loshchilov & Hutter 2019).
** t is the step number, from 1 (64 bits: long is 32 on Windows). vmax is
** NULL unless amsgrad. */
void k_adam(float *restrict p, const float *restrict g, float *restrict m,
            float *restrict v, float *restrict vmax, size_t n, float lr, float b1, float b2, float eps, float wd,
            int decoupled, int64_t t);
/* RMSprop (Hinton, lecture 6e); ga is NULL unless centered, buf NULL unless
** momentum > 0 */
void k_rmsprop(float *restrict p, const float *restrict g, float *restrict v,
               float *restrict ga, float *restrict buf, size_t n, float lr, float alpha, float eps, float wd,
               float mom);
/* Adagrad (Duchi et al. 2011); clr is the decayed rate for this step */
void k_adagrad(float *restrict p, const float *restrict g,
               float *restrict sum, size_t n, float clr, float eps, float wd);
/* Gradient clipping (torch.nn.utils): the sum of |g|^p over n elements,
** or their largest |g| for an infinite p (NaN if any is NaN) */
double k_gradnorm(const float *g, size_t n, double p);

#endif
