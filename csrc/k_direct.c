/*
** k_direct.c: 2-D convolution of stride 1 without im2col, on AVX-512 or
** AVX2+FMA (k_conv.c's im2col + GEMM does every other case, and these
** where the CPU has neither).
**
** An image is copied once into a zero-padded plane per channel, xp[C, Hp,
** Wp] (Hp = H + 2 ph, Wp = W + 2 pw), and then every row of the im2col
** matrix is a shifted window of it: the tap (c, ki, kj) of output (oy,
** ox) is xp[c, oy + ki, ox + kj], at off[k] + oy Wp + ox with off[k] =
** (c Hp + ki) Wp + kj.  So the products read the image where it lies,
** from L1, and no K x P matrix is ever written:
**
**  - forward, y = W x + b: vectors along an output row (16 or 8 columns;
**    a row of 14 is one vector, of 28 two), a tile of MO output channels
**    by RV such row vectors in registers, and for each of the K taps one
**    load of the image per row vector and one broadcast weight per
**    channel.  Lanes past the row's end compute what is never stored.
**  - dL/dx is the same product, "full" convolution of gy (padded by kh -
**    1 - ph, kw - 1 - pw) with the kernel flipped and its channels
**    swapped: W'[c, (o, ki, kj)] = W[o, c, kh-1-ki, kw-1-kj].
**  - dL/dW: vectors along the output channels (gy transposed to P x Opad
**    per image, Opad = O rounded up to the vector), a tile of R kernel
**    rows (c, ki) by kw taps by NOV channel vectors in registers, and for
**    each output pixel NOV loads of gy and one broadcast of x per tap:
**    the sum over pixels runs in registers, and no lane is wasted.
**
** Every sum runs in one fixed order (forward and dL/dx: taps in order;
** dL/dW: images, then pixels in order, from 0), whatever the caller
** splits among threads: callers that split images (forward, dL/dx) or
** tiles of dL/dW get the same bits on any number of threads.
**
** The kernels are chosen as k_gemm.c's (NN_GEMM=portable or avx2 holds
** the choice down); k_direct_isa says which.  No allocation: the caller
** gives the scratch, sized by the functions below.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* ---- what both instruction sets share ------------------------------------ */

enum { SLACK = 64 };                 /* floats past a plane's end */

/* the kernel rows per dL/dW tile: as many as keep R KW NOV sums within
** acc registers (25 of AVX-512's 32, 12 of AVX2's 16), at most 6 */
#define DWROWS(acc, KW, NOV) \
  ((acc) / ((KW) * (NOV)) < 1 ? 1 : (acc) / ((KW) * (NOV)) > 6 ? 6 \
                                  : (acc) / ((KW) * (NOV)))

/* One image x[C, H, W] into xp[C, Hp, Wp] at row pt, column pl, zeros
** around, and SLACK zeros after: the vector loads of the last row reach
** past its end (into lanes never stored, or masked). */
static void pad(float *restrict xp, const float *restrict x, int C, int H,
                int W, int Hp, int Wp, int pt, int pl) {
  int c, r;
  for (c = 0; c < C; c++)
    for (r = 0; r < Hp; r++) {
      float *d = xp + ((size_t)c * Hp + r) * Wp;
      int iy = r - pt;
      if (iy < 0 || iy >= H) {
        memset(d, 0, (size_t)Wp * sizeof *d);
        continue;
      }
      memset(d, 0, (size_t)pl * sizeof *d);
      memcpy(d + pl, x + ((size_t)c * H + iy) * W, (size_t)W * sizeof *d);
      memset(d + pl + W, 0, (size_t)(Wp - pl - W) * sizeof *d);
    }
  memset(xp + (size_t)C * Hp * Wp, 0, SLACK * sizeof *xp);
}


/* The taps' offsets in a padded plane of Hp x Wp: off[(c kh + ki) kw + kj]
** = (c Hp + ki) Wp + kj */
static void offsets(int *off, int C, int kh, int kw, int Hp, int Wp) {
  int c, i, j, k = 0;
  for (c = 0; c < C; c++)
    for (i = 0; i < kh; i++)
      for (j = 0; j < kw; j++) off[k++] = (c * Hp + i) * Wp + j;
}

/* Weights in blocks of mo output channels, wp[b][k][mo], zeros past O:
** from wt[O, K] (flip 0), or (flip 1) the dL/dx kernel from wt[Ow, Cw kh
** kw]: O = Cw output channels, K = Ow kh kw taps (o, ki, kj) holding
** wt[o, c, kh-1-ki, kw-1-kj]. */
static void packw(float *wp, const float *wt, int O, int K, int mo, int flip,
                  int Cw, int kh, int kw) {
  int b, k, i, nb = (O + mo - 1) / mo, khw = kh * kw;
  for (b = 0; b < nb; b++)
    for (k = 0; k < K; k++)
      for (i = 0; i < mo; i++) {
        int o = b * mo + i;
        float v = 0;
        if (o < O) {
          if (!flip) v = wt[(size_t)o * K + k];
          else {
            int ow = k / khw, t = khw - 1 - k % khw;
            v = wt[((size_t)ow * Cw + o) * khw + t];
          }
        }
        wp[((size_t)b * K + k) * mo + i] = v;
      }
}

/* ---- the instruction sets ------------------------------------------------ */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(NN_GEMM_PORTABLE)
#define DIRECT_X86 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/* gy[O, P] to g[P, Opad], zeros in columns O..Opad-1: blocks of 8 x 8
** through registers (8 loads, 24 shuffles, 8 stores), the edges one by
** one */
static AVX2 void transpose(float *restrict g, const float *restrict gy,
                           int O, int P, int Opad) {
  int o0, p0, o, p;
  for (p0 = 0; p0 + 8 <= P; p0 += 8) {
    float *d = g + (size_t)p0 * Opad;
    for (o0 = 0; o0 + 8 <= O; o0 += 8) {
      const float *s = gy + (size_t)o0 * P + p0;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + P);
      __m256 r2 = _mm256_loadu_ps(s + 2 * (size_t)P);
      __m256 r3 = _mm256_loadu_ps(s + 3 * (size_t)P);
      __m256 r4 = _mm256_loadu_ps(s + 4 * (size_t)P);
      __m256 r5 = _mm256_loadu_ps(s + 5 * (size_t)P);
      __m256 r6 = _mm256_loadu_ps(s + 6 * (size_t)P);
      __m256 r7 = _mm256_loadu_ps(s + 7 * (size_t)P);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
      float *q = d + o0;
      _mm256_storeu_ps(q, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(q + Opad, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(q + 2 * (size_t)Opad, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(q + 3 * (size_t)Opad, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(q + 4 * (size_t)Opad, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(q + 5 * (size_t)Opad, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(q + 6 * (size_t)Opad, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(q + 7 * (size_t)Opad, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (p = 0; p < 8; p++)
      for (o = o0; o < Opad; o++)
        d[(size_t)p * Opad + o] = o < O ? gy[(size_t)o * P + p0 + p] : 0.0f;
  }
  for (p = p0; p < P; p++)
    for (o = 0; o < Opad; o++)
      g[(size_t)p * Opad + o] = o < O ? gy[(size_t)o * P + p] : 0.0f;
}

/* Forward tiles: MO channels by RV row vectors.  xr[r] is row vector r's
** first input element (its tap (0, 0, 0)), yr[r] its first output, ys
** the output's channel stride, n[r] its valid lanes, no the valid
** channels, b the bias (or NULL). */
enum { F5MO = 8, F5RV = 3, F2MO = 4, F2RV = 3 };

INLINE AVX512 __mmask16 lanes16(int n) {
  return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

INLINE AVX512 void fwd512(const int rv, int K, const int *off, const float *wp,
                          const float *const *xr, float *const *yr, size_t ys,
                          const int *n, int no, const float *b) {
  __m512 t[F5MO][F5RV];
  const float *x0 = xr[0], *x1 = xr[rv > 1 ? 1 : 0], *x2 = xr[rv > 2 ? 2 : 0];
  int o, r, k;
#pragma GCC unroll 8
  for (o = 0; o < F5MO; o++)
#pragma GCC unroll 3
    for (r = 0; r < rv; r++) t[o][r] = _mm512_setzero_ps();
  for (k = 0; k < K; k++, wp += F5MO) {
    const int d = off[k];
    __m512 v0 = _mm512_loadu_ps(x0 + d);
    __m512 v1 = rv > 1 ? _mm512_loadu_ps(x1 + d) : v0;
    __m512 v2 = rv > 2 ? _mm512_loadu_ps(x2 + d) : v0;
#pragma GCC unroll 8
    for (o = 0; o < F5MO; o++) {
      __m512 w = _mm512_set1_ps(wp[o]);
      t[o][0] = _mm512_fmadd_ps(w, v0, t[o][0]);
      if (rv > 1) t[o][1] = _mm512_fmadd_ps(w, v1, t[o][1]);
      if (rv > 2) t[o][2] = _mm512_fmadd_ps(w, v2, t[o][2]);
    }
  }
  {
    const __mmask16 m0 = lanes16(n[0]), m1 = lanes16(rv > 1 ? n[1] : 0);
    const __mmask16 m2 = lanes16(rv > 2 ? n[2] : 0);
    float *y0 = yr[0], *y1 = yr[rv > 1 ? 1 : 0], *y2 = yr[rv > 2 ? 2 : 0];
    /* every channel's stores unrolled, the sums stay in registers */
#pragma GCC unroll 8
    for (o = 0; o < F5MO; o++) {
      const __m512 bo = _mm512_set1_ps(b && o < no ? b[o] : 0.0f);
      if (o >= no) break;
      _mm512_mask_storeu_ps(y0 + o * ys, m0, b ? _mm512_add_ps(t[o][0], bo)
                                                : t[o][0]);
      if (rv > 1)
        _mm512_mask_storeu_ps(y1 + o * ys, m1, b ? _mm512_add_ps(t[o][1], bo)
                                                  : t[o][1]);
      if (rv > 2)
        _mm512_mask_storeu_ps(y2 + o * ys, m2, b ? _mm512_add_ps(t[o][2], bo)
                                                  : t[o][2]);
    }
  }
}

INLINE AVX2 __m256i lanes8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

INLINE AVX2 void fwd256(const int rv, int K, const int *off, const float *wp,
                        const float *const *xr, float *const *yr, size_t ys,
                        const int *n, int no, const float *b) {
  __m256 t[F2MO][F2RV];
  const float *x0 = xr[0], *x1 = xr[rv > 1 ? 1 : 0], *x2 = xr[rv > 2 ? 2 : 0];
  int o, r, k;
#pragma GCC unroll 4
  for (o = 0; o < F2MO; o++)
#pragma GCC unroll 3
    for (r = 0; r < rv; r++) t[o][r] = _mm256_setzero_ps();
  for (k = 0; k < K; k++, wp += F2MO) {
    const int d = off[k];
    __m256 v0 = _mm256_loadu_ps(x0 + d);
    __m256 v1 = rv > 1 ? _mm256_loadu_ps(x1 + d) : v0;
    __m256 v2 = rv > 2 ? _mm256_loadu_ps(x2 + d) : v0;
#pragma GCC unroll 4
    for (o = 0; o < F2MO; o++) {
      __m256 w = _mm256_broadcast_ss(wp + o);
      t[o][0] = _mm256_fmadd_ps(w, v0, t[o][0]);
      if (rv > 1) t[o][1] = _mm256_fmadd_ps(w, v1, t[o][1]);
      if (rv > 2) t[o][2] = _mm256_fmadd_ps(w, v2, t[o][2]);
    }
  }
  for (o = 0; o < no; o++) {
    __m256 bo = _mm256_set1_ps(b ? b[o] : 0.0f);
#pragma GCC unroll 3
    for (r = 0; r < rv; r++) {
      __m256 v = b ? _mm256_add_ps(t[o][r], bo) : t[o][r];
      if (n[r] >= 8) _mm256_storeu_ps(yr[r] + o * ys, v);
      else _mm256_maskstore_ps(yr[r] + o * ys, lanes8(n[r]), v);
    }
  }
}

static AVX512 void fwd512_1(int K, const int *off, const float *wp,
                            const float *const *xr, float *const *yr,
                            size_t ys, const int *n, int no, const float *b) {
  fwd512(1, K, off, wp, xr, yr, ys, n, no, b);
}
static AVX512 void fwd512_2(int K, const int *off, const float *wp,
                            const float *const *xr, float *const *yr,
                            size_t ys, const int *n, int no, const float *b) {
  fwd512(2, K, off, wp, xr, yr, ys, n, no, b);
}
static AVX512 void fwd512_3(int K, const int *off, const float *wp,
                            const float *const *xr, float *const *yr,
                            size_t ys, const int *n, int no, const float *b) {
  fwd512(3, K, off, wp, xr, yr, ys, n, no, b);
}
static AVX2 void fwd256_1(int K, const int *off, const float *wp,
                          const float *const *xr, float *const *yr, size_t ys,
                          const int *n, int no, const float *b) {
  fwd256(1, K, off, wp, xr, yr, ys, n, no, b);
}
static AVX2 void fwd256_2(int K, const int *off, const float *wp,
                          const float *const *xr, float *const *yr, size_t ys,
                          const int *n, int no, const float *b) {
  fwd256(2, K, off, wp, xr, yr, ys, n, no, b);
}
static AVX2 void fwd256_3(int K, const int *off, const float *wp,
                          const float *const *xr, float *const *yr, size_t ys,
                          const int *n, int no, const float *b) {
  fwd256(3, K, off, wp, xr, yr, ys, n, no, b);
}

/* dL/dW tiles: R kernel rows by KW taps by NOV channel vectors.  xr[r] is
** kernel row r's tap (c, ki, 0) at output pixel (0, 0); g the first
** pixel's gy (its channel vector), Opad apart; acc[(r KW + kj) Opad +
** vector] the running sums, nr of the R rows real. */
#define DW_BODY(VEC, VL, LOAD, STORE, BCAST, FMA)                             \
  VEC t[6][7][2];                 /* R x KW x NOV of it, in registers */      \
  int r, j, v, oy, ox;                                                        \
  _Pragma("GCC unroll 6") for (r = 0; r < R; r++)                             \
  _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                            \
  _Pragma("GCC unroll 2") for (v = 0; v < NOV; v++)                           \
    t[r][j][v] = LOAD(acc + (size_t)(r < nr ? r * KW + j : j) * Opad +        \
                      v * VL);                                                \
  for (oy = 0; oy < OH; oy++) {                                               \
    const float *xo[6];                                                       \
    _Pragma("GCC unroll 6") for (r = 0; r < R; r++)                           \
      xo[r] = xr[r] + (size_t)oy * Wp;                                        \
    for (ox = 0; ox < OW; ox++, g += Opad) {                                  \
      VEC g0 = LOAD(g), g1 = NOV > 1 ? LOAD(g + VL) : g0;                     \
      _Pragma("GCC unroll 6") for (r = 0; r < R; r++) {                       \
        /* opaque to GCC, which would otherwise keep the taps shared by   \
        ** the next pixel in registers and broadcast them on the FMA port */ \
        const float *xq = xo[r] + ox;                                         \
        __asm__("" : "+r"(xq));                                               \
        _Pragma("GCC unroll 7") for (j = 0; j < KW; j++) {                    \
          VEC xv = BCAST(xq + j);                                             \
          t[r][j][0] = FMA(xv, g0, t[r][j][0]);                               \
          if (NOV > 1) t[r][j][1] = FMA(xv, g1, t[r][j][1]);                  \
        }                                                                     \
      }                                                                       \
    }                                                                         \
  }                                                                           \
  _Pragma("GCC unroll 6") for (r = 0; r < R; r++)                             \
  _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                            \
  _Pragma("GCC unroll 2") for (v = 0; v < NOV; v++)                           \
    if (r < nr) STORE(acc + (size_t)(r * KW + j) * Opad + v * VL, t[r][j][v]);

#define BC512(p) _mm512_set1_ps(*(p))

INLINE AVX512 void dw512(const int R, const int KW, const int NOV,
                         const float *const *xr, const float *g, int Opad,
                         int OH, int OW, int Wp, float *acc, int nr) {
  DW_BODY(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, BC512,
          _mm512_fmadd_ps)
}

INLINE AVX2 void dw256(const int R, const int KW, const int NOV,
                       const float *const *xr, const float *g, int Opad,
                       int OH, int OW, int Wp, float *acc, int nr) {
  DW_BODY(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss,
          _mm256_fmadd_ps)
}

typedef void (*DwFn)(const float *const *xr, const float *g, int Opad, int OH,
                     int OW, int Wp, float *acc, int nr);

#define DW_INST(isa, ACC, KW, NOV)                                            \
  static isa void dw##ACC##_##KW##_##NOV(const float *const *xr,              \
                                         const float *g, int Opad, int OH,    \
                                         int OW, int Wp, float *acc, int nr) {\
    dw##ACC(DWROWS(ACC == 512 ? 25 : 12, KW, NOV), KW, NOV, xr, g, Opad, OH,  \
            OW, Wp, acc, nr);                                                 \
  }
#define DW_ALL(isa, ACC)                                                      \
  DW_INST(isa, ACC, 2, 1) DW_INST(isa, ACC, 2, 2) DW_INST(isa, ACC, 3, 1)     \
  DW_INST(isa, ACC, 3, 2) DW_INST(isa, ACC, 4, 1) DW_INST(isa, ACC, 4, 2)     \
  DW_INST(isa, ACC, 5, 1) DW_INST(isa, ACC, 5, 2) DW_INST(isa, ACC, 6, 1)     \
  DW_INST(isa, ACC, 6, 2) DW_INST(isa, ACC, 7, 1) DW_INST(isa, ACC, 7, 2)
DW_ALL(AVX512, 512)
DW_ALL(AVX2, 256)

static const DwFn dw512fn[6][2] = {
  {dw512_2_1, dw512_2_2}, {dw512_3_1, dw512_3_2}, {dw512_4_1, dw512_4_2},
  {dw512_5_1, dw512_5_2}, {dw512_6_1, dw512_6_2}, {dw512_7_1, dw512_7_2}};
static const DwFn dw256fn[6][2] = {
  {dw256_2_1, dw256_2_2}, {dw256_3_1, dw256_3_2}, {dw256_4_1, dw256_4_2},
  {dw256_5_1, dw256_5_2}, {dw256_6_1, dw256_6_2}, {dw256_7_1, dw256_7_2}};
#endif

/* ---- the choice, the geometry ------------------------------------------- */

int k_direct_isa(void) {
#ifdef DIRECT_X86
  const char *e = k_sgemm_kernel();
  if (strcmp(e, "avx512") == 0) return 2;
  if (strcmp(e, "avx2") == 0) return 1;
#endif
  return 0;
}

/* One direct product in either direction: nc input channels of ih x iw,
** placed at row pt, column pl of planes Hp x Wp; no output channels of oh
** x ow; kh x kw taps, K = nc kh kw of them */
typedef struct Geo {
  int isa, vl, mo;
  int nc, ih, iw, pt, pl, Hp, Wp;
  int no, oh, ow, kh, kw, K;
} Geo;

static Geo geometry(const KConvShape *s, int dx) {
  Geo g;
  g.isa = k_direct_isa();
  g.vl = g.isa == 2 ? 16 : 8;
  g.mo = g.isa == 2 ? 8 : 4;
  g.kh = s->w.kh;
  g.kw = s->w.kw;
  if (!dx) {                           /* x[C, H, W] -> y[O, OH, OW] */
    g.nc = s->C; g.ih = s->H; g.iw = s->W; g.pt = s->w.ph; g.pl = s->w.pw;
    g.no = s->O; g.oh = s->OH; g.ow = s->OW;
  } else {                             /* gy[O, OH, OW] -> gx[C, H, W] */
    g.nc = s->O; g.ih = s->OH; g.iw = s->OW; g.pt = s->w.kh - 1 - s->w.ph;
    g.pl = s->w.kw - 1 - s->w.pw;
    g.no = s->C; g.oh = s->H; g.ow = s->W;
  }
  g.Hp = g.oh + g.kh - 1;
  g.Wp = g.ow + g.kw - 1;
  g.K = g.nc * g.kh * g.kw;
  return g;
}

/* The windows the direct kernels take: stride 1, dilation 1, padding
** less than the kernel (dL/dx pads gy by kh - 1 - ph), 2 to 7 taps a row
** (dL/dW has tiles for each), and planes whose offsets fit an int. */
int k_dconv_fits(const KConvShape *s) {
  const KWindow *w = &s->w;
  long long hp = (long long)s->H + w->kh - 1, wp = (long long)s->W + w->kw - 1;
  long long big = s->C > s->O ? s->C : s->O;
  return k_direct_isa() > 0 && w->sh == 1 && w->sw == 1 && w->dh == 1 &&
         w->dw == 1 && w->ph < w->kh && w->pw < w->kw && w->kw >= 2 &&
         w->kw <= 7 && big * hp * wp + SLACK < (1LL << 30) &&
         big * w->kh * w->kw < (1LL << 24);
}

static size_t packedsize(const Geo *g) {
  return (size_t)((g->no + g->mo - 1) / g->mo) * g->mo * g->K;
}

static size_t planesize(const Geo *g) {
  return (size_t)g->nc * g->Hp * g->Wp + SLACK;
}

/* dL/dW's channels, rounded up to whole vectors */
static int opad(const Geo *g, const KConvShape *s) {
  return (s->O + g->vl - 1) / g->vl * g->vl;
}

size_t k_dconv_shared(const KConvShape *s, int dir) {
  Geo g = geometry(s, dir == 1);
  if (dir == 2) return (size_t)g.K * opad(&g, s);            /* the sums */
  return packedsize(&g) + (size_t)g.K;           /* weights and offsets */
}

size_t k_dconv_private(const KConvShape *s, int dir) {
  Geo g = geometry(s, dir == 1);
  if (dir == 2)                     /* x padded, gy transposed */
    return planesize(&g) + (size_t)s->OH * s->OW * opad(&g, s);
  return planesize(&g);
}

void k_dconv_prepare(float *shared, const float *wt, const KConvShape *s,
                     int dir) {
  Geo g = geometry(s, dir == 1);
  packw(shared, wt, g.no, g.K, g.mo, dir == 1, s->C, g.kh, g.kw);
  offsets((int *)(void *)(shared + packedsize(&g)), g.nc, g.kh, g.kw, g.Hp,
          g.Wp);
}

/* ---- forward and dL/dx -------------------------------------------------- */

#ifdef DIRECT_X86
typedef void (*FwdFn)(int K, const int *off, const float *wp,
                      const float *const *xr, float *const *yr, size_t ys,
                      const int *n, int no, const float *b);
static const FwdFn fwd512fn[3] = {fwd512_1, fwd512_2, fwd512_3};
static const FwdFn fwd256fn[3] = {fwd256_1, fwd256_2, fwd256_3};

/* one image: xp padded, y[no, oh, ow] */
static void tiles(const Geo *g, float *y, const float *xp, const float *wp,
                  const int *off, const float *b) {
  const int vl = g->vl, nv = (g->ow + vl - 1) / vl, rows = g->oh * nv;
  const int rvmax = g->isa == 2 ? F5RV : F2RV;
  const FwdFn *fn = g->isa == 2 ? fwd512fn : fwd256fn;
  const size_t ys = (size_t)g->oh * g->ow;
  int ob, r0, r;
  for (ob = 0; ob < g->no; ob += g->mo) {
    const float *w = wp + (size_t)ob * g->K;
    int no = g->no - ob < g->mo ? g->no - ob : g->mo;
    for (r0 = 0; r0 < rows; r0 += rvmax) {
      const float *xr[3];
      float *yr[3];
      int n[3], rv = rows - r0 < rvmax ? rows - r0 : rvmax;
      for (r = 0; r < rv; r++) {
        int oy = (r0 + r) / nv, v = (r0 + r) % nv;
        xr[r] = xp + (size_t)oy * g->Wp + v * vl;
        yr[r] = y + (size_t)ob * ys + (size_t)oy * g->ow + v * vl;
        n[r] = g->ow - v * vl;
      }
      fn[rv - 1](g->K, off, w, xr, yr, ys, n, no, b ? b + ob : NULL);
    }
  }
}
#endif

static void direct(const Geo *g, float *y, const float *x, const float *b,
                   const float *shared, float *xp, int i0, int i1) {
#ifdef DIRECT_X86
  const float *wp = shared;
  const int *off = (const int *)(const void *)(shared + packedsize(g));
  size_t in = (size_t)g->nc * g->ih * g->iw, out = (size_t)g->no * g->oh * g->ow;
  int i;
  for (i = i0; i < i1; i++) {
    pad(xp, x + i * in, g->nc, g->ih, g->iw, g->Hp, g->Wp, g->pt, g->pl);
    tiles(g, y + i * out, xp, wp, off, b);
  }
#else
  (void)g; (void)y; (void)x; (void)b; (void)shared; (void)xp; (void)i0;
  (void)i1;
#endif
}

void k_dconv_forward(float *y, const float *x, const float *b,
                     const float *shared, float *priv, const KConvShape *s,
                     int i0, int i1) {
  Geo g = geometry(s, 0);
  direct(&g, y, x, b, shared, priv, i0, i1);
}

void k_dconv_backx(float *gx, const float *gy, const float *shared,
                   float *priv, const KConvShape *s, int i0, int i1) {
  Geo g = geometry(s, 1);
  direct(&g, gx, gy, NULL, shared, priv, i0, i1);
}

/* ---- dL/dW ---------------------------------------------------------------- */

/* the tiles of dL/dW: kernel rows (c, ki) in groups of dwrows, by groups
** of nov channel vectors */
static void wtiling(const Geo *g, const KConvShape *s, int *rows, int *nov,
                    int *nrt, int *nog) {
  int acc = g->isa == 2 ? 25 : 12, nv = opad(g, s) / g->vl;
  *nov = nv % 2 == 0 && g->kw * 2 <= acc ? 2 : 1;
  *rows = DWROWS(acc, g->kw, *nov);
  *nrt = (s->C * g->kh + *rows - 1) / *rows;
  *nog = nv / *nov;
}

int k_dconv_wtiles(const KConvShape *s) {
  Geo g = geometry(s, 0);
  int rows, nov, nrt, nog;
  wtiling(&g, s, &rows, &nov, &nrt, &nog);
  return nrt * nog;
}

/* db[o] for o in o0 .. o1 - 1: each image's sum over its pixels, in
** double, pixel by pixel from the transposed gy g[P, Op], added to gb */
static AVX2 void biassums(float *gb, const float *g, int P, int Op, int o0,
                          int o1, double *acc) {
  int p, o = o0;
  for (; o + 4 <= o1; o += 4) {
    __m256d a = _mm256_setzero_pd();
    for (p = 0; p < P; p++)
      a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(g + (size_t)p * Op + o)));
    _mm256_storeu_pd(acc, a);
    for (p = 0; p < 4; p++) gb[o + p] += (float)acc[p];
  }
  for (; o < o1; o++) {
    double a = 0;
    for (p = 0; p < P; p++) a += g[(size_t)p * Op + o];
    gb[o] += (float)a;
  }
}

void k_dconv_backw(float *gw, float *gb, float *sums, const float *x,
                   const float *gy, float *priv, const KConvShape *s, int t0,
                   int t1, int o0, int o1) {
#ifdef DIRECT_X86
  Geo g = geometry(s, 0);
  const int Op = opad(&g, s), P = s->OH * s->OW, kw = g.kw, kh = g.kh;
  const int nkr = s->C * kh;                     /* kernel rows (c, ki) */
  const size_t in = (size_t)s->C * s->H * s->W, out = (size_t)s->O * P;
  float *xp = priv, *gt = priv + planesize(&g);
  int rows, nov, nrt, nog, i, t, r, o, k;
  DwFn fn;
  wtiling(&g, s, &rows, &nov, &nrt, &nog);
  /* each table indexed on its own: GCC's object-size check takes a row
  ** of (a ? t1 : t2) for the whole and flags every later row */
  fn = g.isa == 2 ? dw512fn[kw - 2][nov - 1] : dw256fn[kw - 2][nov - 1];
  for (t = t0; t < t1; t++) {                    /* the sums start at 0 */
    int rt = t / nog, og = t % nog, r0 = rt * rows;
    int nr = nkr - r0 < rows ? nkr - r0 : rows;
    for (k = r0 * kw; k < (r0 + nr) * kw; k++)
      memset(sums + (size_t)k * Op + og * nov * g.vl, 0,
             (size_t)nov * g.vl * sizeof *sums);
  }
  for (i = 0; i < s->n; i++) {
    pad(xp, x + i * in, s->C, s->H, s->W, g.Hp, g.Wp, g.pt, g.pl);
    transpose(gt, gy + i * out, s->O, P, Op);
    if (gb && o1 > o0) {
      double acc[4];
      biassums(gb, gt, P, Op, o0, o1, acc);
    }
    for (t = t0; t < t1; t++) {
      int rt = t / nog, og = t % nog, r0 = rt * rows;
      int nr = nkr - r0 < rows ? nkr - r0 : rows;
      const float *xr[6];
      for (r = 0; r < rows; r++) {
        int kr = r < nr ? r0 + r : r0, c = kr / kh, ki = kr % kh;
        xr[r] = xp + ((size_t)c * g.Hp + ki) * g.Wp;
      }
      fn(xr, gt + og * nov * g.vl, Op, s->OH, s->OW, g.Wp,
         sums + (size_t)r0 * kw * Op + og * nov * g.vl, nr);
    }
  }
  /* gw[o, k] += sums[k, o] over this part's tiles */
  for (t = t0; t < t1; t++) {
    int rt = t / nog, og = t % nog, r0 = rt * rows;
    int nr = nkr - r0 < rows ? nkr - r0 : rows;
    int oe = (og + 1) * nov * g.vl < s->O ? (og + 1) * nov * g.vl : s->O;
    for (o = og * nov * g.vl; o < oe; o++)
      for (k = r0 * kw; k < (r0 + nr) * kw; k++)
        gw[(size_t)o * g.K + k] += sums[(size_t)k * Op + o];
  }
#else
  (void)gw; (void)gb; (void)sums; (void)x; (void)gy; (void)priv; (void)s;
  (void)t0; (void)t1; (void)o0; (void)o1;
#endif
}
