/*
** k_direct_dw.c: dL/dW and dL/db of the direct stride-1 convolution
** (k_direct.c has the geometry, forward and dL/dx; k_direct.h what they
** share).  Two ways to tile dL/dW[O, C kh kw], chosen by the layer's
** shape (wtiling):
**
**  - by channel vectors: gy transposed to P x Opad per image (Opad = O
**    rounded up to the vector), a tile of R kernel rows (c, ki) by kw
**    taps by NOV channel vectors in registers, and for each output pixel
**    NOV loads of gy and one broadcast of x per tap: no lane is wasted,
**    and with two channel vectors (O = 32 on AVX-512) two FMAs a load;
**  - by pixel vectors, where the channels fill one vector (O = 16, the
**    first layer of a CNN): with one channel vector the tiles above load
**    once per FMA.  A tile is MP channels by the kw taps of one kernel row,
**    each sum a vector of pixels, over flat planes of rows Wp wide: per
**    vector MP loads of gy, one of x (the taps shifted out of two), MP kw
**    FMAs.  The price: the lanes of columns OW .. Wp - 1 (28 of 32 are
**    pixels for 5 x 5 taps on 28 x 28) and a copy of gy in that layout.
**
** dL/db is summed in the same pass over each image's gy, while it is in
** cache.  The images go in chunks (k_dconv_wchunks: 8 images a chunk,
** fewer chunks where their sums would pass 4 MB), each chunk summed from
** zero into its own sums, then added to gw and gb in chunk order.  The
** chunks depend on the shape alone, never on the threads, and every sum
** runs in one fixed order (a chunk's images, then pixels, in order): a
** caller that splits chunks and tiles among threads gets the same bits
** on any number of them.  Why chunks: split by tiles alone, every part
** padded every image and transposed its gy, which for the first layer
** of a CNN (5 tiles) cost as much as the part's own FMAs.
*/
#include <stdint.h>
#include <string.h>

#include "k_direct.h"

/* the kernel rows per dL/dW tile: as many as keep R KW NOV sums within
** acc registers (25 of AVX-512's 32, 12 of AVX2's 16), at most 6 */
#define DWROWS(acc, KW, NOV) \
  ((acc) / ((KW) * (NOV)) < 1 ? 1 : (acc) / ((KW) * (NOV)) > 6 ? 6 \
                                  : (acc) / ((KW) * (NOV)))

/* channels a tile: MP KW sums within 21 of AVX-512's 32 registers, 12 of
** AVX2's 16 (MP of gy and one x beside them), 1 to 4 */
#define DWPCH(acc, KW) ((acc) / (KW) > 4 ? 4 : (acc) / (KW) < 1 ? 1 : (acc) / (KW))

#ifdef DIRECT_X86
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

/* dL/dW tiles by pixel vectors, for layers whose channels fill one
** vector or an odd number of them (where the channel tiles above load once
** per FMA): MP output channels by the KW taps of one kernel row (c, ki),
** each sum a vector of pixels.  The pixels run flat over planes of rows Wp
** wide, gy's copied so (zeros past each row's OW and the plane's end), so
** that tap (ki, kj) of flat pixel q is x's plane at ki Wp + kj + q: one
** long loop of nvec vectors, each MP loads of gy and KW of x into MP KW
** FMAs.  The lanes that are no pixel (columns OW .. Wp - 1, past the
** end) add nothing, whatever x holds there: masked FMAs on AVX-512, x
** zeroed on AVX2 (mk, a mask a vector).  xr is the kernel row's first
** tap, g channel o0's plane of the copy, gst the planes' stride; acc[(m
** KW + j) VL ..] the lane sums, nm of the MP channels real. */
#define DWP_BODY(VL, VEC, MASK, LOADU, STOREU, XFIRST, XNEXT, XTAP, FMA)    \
  VEC t[4][7], lo, hi;                                                        \
  const float *gm[4];                                                         \
  int m, j, q;                                                                \
  _Pragma("GCC unroll 4") for (m = 0; m < MP; m++) {                          \
    gm[m] = g + (size_t)m * gst;                                              \
    _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                          \
      t[m][j] = LOADU(acc + (size_t)(m * KW + j) * VL);                       \
  }                                                                           \
  lo = XFIRST(xr);                                                            \
  for (q = 0; q < nvec; q++) {                                                \
    const MASK k = MASKAT(mk, q);                                             \
    const float *xq = xr + (size_t)q * VL;                                    \
    VEC gv[4];                                                                \
    hi = XNEXT(xq + VL);                                                      \
    _mm_prefetch(pf + (size_t)q * 64, _MM_HINT_T1);                           \
    _Pragma("GCC unroll 4") for (m = 0; m < MP; m++)                          \
      gv[m] = LOADU(gm[m] + (size_t)q * VL);                                  \
    _Pragma("GCC unroll 7") for (j = 0; j < KW; j++) {                        \
      VEC xv = XTAP(xq, j, lo, hi, k);                                        \
      _Pragma("GCC unroll 4") for (m = 0; m < MP; m++)                        \
        t[m][j] = FMA(xv, gv[m], t[m][j], k);                                 \
    }                                                                         \
    lo = hi;                                                                  \
  }                                                                           \
  _Pragma("GCC unroll 4") for (m = 0; m < MP; m++)                            \
  _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                            \
    if (m < nm) STOREU(acc + (size_t)(m * KW + j) * VL, t[m][j]);

/* x's taps from two loads a vector, the others shifted out of them
** (valignd): a load at tap j > 0 would mostly cross a cache line */
#define X512(p) _mm512_loadu_ps(p)
#define ALIGN512(hi, lo, j)                                                   \
  _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi),            \
                                          _mm512_castps_si512(lo), j))
/* lanes j .. j + 15 of lo:hi; a switch so that the shift is an immediate
** even where the taps' loop is not unrolled (-O1, -O0) */
INLINE AVX512 __m512 shift512(__m512 lo, __m512 hi, int j) {
  switch (j) {
  case 1: return ALIGN512(hi, lo, 1);
  case 2: return ALIGN512(hi, lo, 2);
  case 3: return ALIGN512(hi, lo, 3);
  case 4: return ALIGN512(hi, lo, 4);
  case 5: return ALIGN512(hi, lo, 5);
  case 6: return ALIGN512(hi, lo, 6);
  default: return lo;
  }
}
#define TAP512(xq, j, lo, hi, k) shift512(lo, hi, j)
#define MASKAT(mk, q) (mk)[q]
#define FMA512(x, g, t, k) _mm512_mask3_fmadd_ps(x, g, t, k)

INLINE AVX512 void dwp512(const int MP, const int KW, const float *xr,
                          const float *g, size_t gst, int nvec,
                          const void *mv, float *acc, int nm, const char *pf) {
  const __mmask16 *mk = (const __mmask16 *)mv;
  DWP_BODY(16, __m512, __mmask16, _mm512_loadu_ps, _mm512_storeu_ps, X512,
           X512, TAP512, FMA512)
}
#undef MASKAT

/* AVX2 has no shift across its two halves in one instruction: every tap
** is a load of its own (lo and hi stay unused), anded with the lanes that
** are pixels */
#define X256(p) _mm256_setzero_ps()
#define TAP256(xq, j, lo, hi, k) _mm256_and_ps(_mm256_loadu_ps((xq) + (j)), k)
#define FMA256(x, g, t, k) _mm256_fmadd_ps(x, g, t)
#define MASKAT(mk, q) _mm256_loadu_ps((mk) + (size_t)(q) * 8)

INLINE AVX2 void dwp256(const int MP, const int KW, const float *xr,
                        const float *g, size_t gst, int nvec,
                        const void *mv, float *acc, int nm, const char *pf) {
  const float *mk = (const float *)mv;
  DWP_BODY(8, __m256, __m256, _mm256_loadu_ps, _mm256_storeu_ps, X256, X256,
           TAP256, FMA256)
  (void)lo;
}

typedef void (*DwpFn)(const float *xr, const float *g, size_t gst, int nvec,
                      const void *mk, float *acc, int nm, const char *pf);

#define DWP_INST(isa, ACC, KW)                                                \
  static isa void dwp##ACC##_##KW(const float *xr, const float *g,            \
                                  size_t gst, int nvec, const void *mk,       \
                                  float *acc, int nm, const char *pf) {       \
    dwp##ACC(DWPCH(ACC == 512 ? 21 : 12, KW), KW, xr, g, gst, nvec, mk, acc,  \
             nm, pf);                                                         \
  }
DWP_INST(AVX512, 512, 2) DWP_INST(AVX512, 512, 3) DWP_INST(AVX512, 512, 4)
DWP_INST(AVX512, 512, 5) DWP_INST(AVX512, 512, 6) DWP_INST(AVX512, 512, 7)
DWP_INST(AVX2, 256, 2) DWP_INST(AVX2, 256, 3) DWP_INST(AVX2, 256, 4)
DWP_INST(AVX2, 256, 5) DWP_INST(AVX2, 256, 6) DWP_INST(AVX2, 256, 7)

static const DwpFn dwp512fn[6] = {dwp512_2, dwp512_3, dwp512_4,
                                  dwp512_5, dwp512_6, dwp512_7};
static const DwpFn dwp256fn[6] = {dwp256_2, dwp256_3, dwp256_4,
                                  dwp256_5, dwp256_6, dwp256_7};

/* dL/dW tiles by pixel vectors over shifted planes (k_dshift), where the
** layer's forward takes them (AVX-512, one input channel: k_direct.c's
** flatwanted): MP channels by the KW taps of kernel row ki, each sum a
** vector of pixels, and the pixels those of gy's own planes: tap (ki, j)
** of pixel p is shifted plane j at ki ow + p.  Per vector MP loads of gy,
** KW of x and MP KW FMAs: no lane wasted (rows of 28 filled 28 of 32 in
** bypixels), no copy of gy, no shifts; a last vector of fewer than 16
** pixels masks gy's loads (which must not read past gy's end) and the
** products (x's lanes there are the next plane's).  x is tap (ki, 0) at
** pixel 0, fs the planes' stride; g channel o0's plane of gy, P pixels a
** plane; acc[(m KW + j) 16 ..] the lane sums, nm of the MP channels real.
** With DB, db[m] is set to the sum of gy's plane m as lanesum takes it,
** from the loads the products make (planesums in double had been 11% of
** the first layer's dL/dW on Zen 4). */
INLINE AVX512 double hsumd(__m512 v) {          /* the lanes, in order */
  float l[16];
  double sum = 0;
  int k;
  _mm512_storeu_ps(l, v);
  for (k = 0; k < 16; k++) sum += l[k];
  return sum;
}

/* one plane's sum as dwf512 takes it: lanes of 16, then hsumd */
static AVX512 float lanesum(const float *g, int P) {
  __m512 a = _mm512_setzero_ps();
  int q;
  for (q = 0; q + 16 <= P; q += 16) a = _mm512_add_ps(a, _mm512_loadu_ps(g + q));
  if (q < P) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(lanes16(P - q), g + q));
  return (float)hsumd(a);
}

INLINE AVX512 void dwf512(const int MP, const int KW, const int DB,
                          const float *x, size_t fs, const float *g, int P,
                          float *acc, int nm, float *db) {
  __m512 t[4][7], gv[4], b[4];
  const float *gm[4];
  const int nq = P / 16, left = P % 16;
  int m, j, q;
#pragma GCC unroll 4
  for (m = 0; m < MP; m++) {
    gm[m] = g + (size_t)(m < nm ? m : 0) * P;
    b[m] = _mm512_setzero_ps();
#pragma GCC unroll 7
    for (j = 0; j < KW; j++)
      t[m][j] = _mm512_loadu_ps(acc + (size_t)(m * KW + j) * 16);
  }
  for (q = 0; q < nq; q++) {
    const float *xq = x + (size_t)q * 16;
#pragma GCC unroll 4
    for (m = 0; m < MP; m++) {
      gv[m] = _mm512_loadu_ps(gm[m] + (size_t)q * 16);
      if (DB) b[m] = _mm512_add_ps(b[m], gv[m]);
    }
#pragma GCC unroll 7
    for (j = 0; j < KW; j++) {
      const __m512 xv = _mm512_loadu_ps(xq + j * fs);
#pragma GCC unroll 4
      for (m = 0; m < MP; m++) t[m][j] = _mm512_fmadd_ps(xv, gv[m], t[m][j]);
    }
  }
  if (left) {
    const float *xq = x + (size_t)nq * 16;
    const __mmask16 k = lanes16(left);
#pragma GCC unroll 4
    for (m = 0; m < MP; m++) {
      gv[m] = _mm512_maskz_loadu_ps(k, gm[m] + (size_t)nq * 16);
      if (DB) b[m] = _mm512_add_ps(b[m], gv[m]);
    }
#pragma GCC unroll 7
    for (j = 0; j < KW; j++) {
      const __m512 xv = _mm512_loadu_ps(xq + j * fs);
#pragma GCC unroll 4
      for (m = 0; m < MP; m++)
        t[m][j] = _mm512_mask3_fmadd_ps(xv, gv[m], t[m][j], k);
    }
  }
#pragma GCC unroll 4
  for (m = 0; m < MP; m++) {
    if (m >= nm) break;
#pragma GCC unroll 7
    for (j = 0; j < KW; j++)
      _mm512_storeu_ps(acc + (size_t)(m * KW + j) * 16, t[m][j]);
    if (DB) db[m] = (float)hsumd(b[m]);
  }
}

typedef void (*DwfFn)(const float *x, size_t fs, const float *g, int P,
                      float *acc, int nm, float *db);

#define DWF_INST(KW)                                                          \
  static AVX512 void dwf512_##KW(const float *x, size_t fs, const float *g,   \
                                 int P, float *acc, int nm, float *db) {      \
    if (db) dwf512(DWPCH(21, KW), KW, 1, x, fs, g, P, acc, nm, db);           \
    else dwf512(DWPCH(21, KW), KW, 0, x, fs, g, P, acc, nm, db);              \
  }
DWF_INST(2) DWF_INST(3) DWF_INST(4) DWF_INST(5) DWF_INST(6) DWF_INST(7)

static const DwfFn dwf512fn[6] = {dwf512_2, dwf512_3, dwf512_4,
                                  dwf512_5, dwf512_6, dwf512_7};

/* the lanes of each flat vector that are pixels: a bit each (AVX-512) or
** a float of all ones (AVX2), for nvec vectors over OH rows Wp wide */
static void lanemasks(void *mv, int isa, int nvec, int OH, int OW, int Wp) {
  const int vl = isa == 2 ? 16 : 8;
  int q, l;
  for (q = 0; q < nvec; q++) {
    unsigned bits = 0;
    for (l = 0; l < vl; l++) {
      long p = (long)q * vl + l;
      if (p < (long)OH * Wp && p % Wp < OW) bits |= 1u << l;
    }
    if (isa == 2) ((uint16_t *)mv)[q] = (uint16_t)bits;
    else
      for (l = 0; l < vl; l++)
        ((uint32_t *)mv)[(size_t)q * vl + l] = bits >> l & 1 ? 0xffffffffu : 0;
  }
}

/* db[o] += the sum of gy's plane o over its P pixels, for o in o0 .. o1 -
** 1: in double, sixteen running sums (four chains of four, named so
** that GCC keeps them in registers and the adds do not wait on each
** other), of pixels p = 16 q + l, added up in a fixed order, then the
** last pixels */
static AVX2 void planesums(float *gb, const float *gy, int P, int o0,
                           int o1) {
  double l[16];
  int o, p, k;
  for (o = o0; o < o1; o++) {
    const float *g = gy + (size_t)o * P;
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    double sum = 0;
    for (p = 0; p + 16 <= P; p += 16) {
      a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(g + p)));
      a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(g + p + 4)));
      a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm_loadu_ps(g + p + 8)));
      a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm_loadu_ps(g + p + 12)));
    }
    _mm256_storeu_pd(l, a0);
    _mm256_storeu_pd(l + 4, a1);
    _mm256_storeu_pd(l + 8, a2);
    _mm256_storeu_pd(l + 12, a3);
    for (k = 0; k < 16; k++) sum += l[k];
    for (; p < P; p++) sum += g[p];
    gb[o] += (float)sum;
  }
}
#endif

/* ---- dL/dW ---------------------------------------------------------------- */

/* dL/dW's channels, rounded up to whole vectors */
static int opad(const Geo *g, const KConvShape *s) {
  return (s->O + g->vl - 1) / g->vl * g->vl;
}

/* How dL/dW is tiled.  By channel vectors (pix 0): kernel rows (c, ki) in
** groups of rows, by groups of nov channel vectors, nrt x nog tiles.  By
** pixel vectors (pix 1), where one channel vector (or an odd number)
** would leave the channel tiles loading once per FMA and the output rows
** fill at least 3/4 of the padded rows (28 of 32 for 5 x 5 taps): a
** kernel row by mp channels, nrt = C kh by nog tiles; per floats of sums
** a tile, nvec flat vectors of plane floats a gy plane. */
typedef struct Wt {
  int pix, flat, rows, nov, mp, nrt, nog, per, nvec;
  size_t plane;
} Wt;

static Wt wtiling(const Geo *g, const KConvShape *s) {
  Wt w;
  int acc = g->isa == 2 ? 25 : 12, nv = opad(g, s) / g->vl;
  w.flat = g->flat;
  w.pix = w.flat || (nv % 2 == 1 && 4 * s->OW >= 3 * g->Wp);
  w.nvec = 0;
  w.plane = 0;
  if (w.flat) {                 /* pixel tiles over the shifted planes */
    w.rows = 1;
    w.nov = 0;
    w.mp = DWPCH(g->isa == 2 ? 21 : 12, g->kw);
    w.nrt = s->C * g->kh;
    w.nog = (s->O + w.mp - 1) / w.mp;
    w.per = w.mp * g->kw * g->vl;
  } else if (w.pix) {
    w.nvec = (int)(((size_t)s->OH * g->Wp + g->vl - 1) / g->vl);
    w.plane = (size_t)w.nvec * g->vl;
    w.rows = 1;
    w.nov = 0;
    w.mp = DWPCH(g->isa == 2 ? 21 : 12, g->kw);
    w.nrt = s->C * g->kh;
    w.nog = (s->O + w.mp - 1) / w.mp;
    w.per = w.mp * g->kw * g->vl;
  } else {
    w.nov = nv % 2 == 0 && g->kw * 2 <= acc ? 2 : 1;
    w.rows = DWROWS(acc, g->kw, w.nov);
    w.mp = 0;
    w.nrt = (s->C * g->kh + w.rows - 1) / w.rows;
    w.nog = nv / w.nov;
    w.per = 0;
  }
  return w;
}

int k_dconv_wtiles(const KConvShape *s) {
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  return w.nrt * w.nog;
}

/* a chunk's floats: its tiles' sums, then dL/db's O sums, each in whole
** lines */
static size_t chunkfloats(const Geo *g, const Wt *w, const KConvShape *s) {
  size_t t = w->pix ? (size_t)w->nrt * w->nog * w->per
                    : (size_t)g->K * opad(g, s);
  return LINES(t) + LINES((size_t)s->O);
}

enum { CHUNK = 8, CHUNKBUDGET = 1 << 20 };  /* images; floats of sums */

static int chunks(const Geo *g, const Wt *w, const KConvShape *s) {
  size_t most = CHUNKBUDGET / chunkfloats(g, w, s);
  int n = (s->n + CHUNK - 1) / CHUNK;
  if ((size_t)n > most) n = (int)most;
  return n < 1 ? 1 : n;
}

int k_dconv_wchunks(const KConvShape *s) {
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  return chunks(&g, &w, s);
}

size_t k_dw_shared(const KConvShape *s) {      /* every chunk's sums */
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  return chunkfloats(&g, &w, s) * chunks(&g, &w, s);
}

/* x padded (whole lines: gy's copy after it is aligned as the scratch is),
** then gy transposed (channel tiles) or in rows of whole vectors (pixel) */
size_t k_dw_private(const KConvShape *s) {
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  size_t xp = (k_dplane(&g) + 15) / 16 * 16;
  if (w.flat) return xp;
  if (w.pix)                   /* gy's copy in whole tiles, the lane masks */
    return xp + 16 + (size_t)w.nog * w.mp * w.plane +
           (g.isa == 2 ? ((size_t)w.nvec + 31) / 32 * 16 : w.plane);
  return xp + (size_t)s->OH * s->OW * opad(&g, s);
}

#ifdef DIRECT_X86
/* What a part of dL/dW does: its tiles t0 .. t1 - 1 (sums), its
** channels o0 .. o1 - 1 of dL/db (db, or NULL), over images i0 .. i1 - 1,
** each from zero: each image's gy is read once while it is in cache. */
typedef struct DwPart {
  float *sums, *db, *priv;
  const float *x, *gy;
  int i0, i1, t0, t1, o0, o1;
} DwPart;

/* the channel tiles' sums over the part's images: sums[k Opad + o] for
** dL/dW[o, k] (k_dconv_wreduce adds them to gw) */
static void bychannels(const Geo *g, const Wt *w, const KConvShape *s,
                       const DwPart *d) {
  const int Op = opad(g, s), P = s->OH * s->OW, kw = g->kw, kh = g->kh;
  const int nkr = s->C * kh, rows = w->rows, nog = w->nog, cv = w->nov * g->vl;
  const size_t in = (size_t)s->C * s->H * s->W, out = (size_t)s->O * P;
  float *xp = d->priv, *gt = d->priv + (k_dplane(g) + 15) / 16 * 16;
  float *sums = d->sums;
  int i, t, r, k;
  /* each table indexed on its own: GCC's object-size check takes a row
  ** of (a ? t1 : t2) for the whole and flags every later row */
  DwFn fn = g->isa == 2 ? dw512fn[kw - 2][w->nov - 1]
                        : dw256fn[kw - 2][w->nov - 1];
  for (t = d->t0; t < d->t1; t++) {              /* the sums start at 0 */
    int r0 = t / nog * rows, og = t % nog;
    int nr = nkr - r0 < rows ? nkr - r0 : rows;
    for (k = r0 * kw; k < (r0 + nr) * kw; k++)
      memset(sums + (size_t)k * Op + og * cv, 0, (size_t)cv * sizeof *sums);
  }
  for (i = d->i0; i < d->i1; i++) {
    const float *gy = d->gy + i * out;
    if (d->db) planesums(d->db, gy, P, d->o0, d->o1);
    if (d->t1 <= d->t0) continue;
    k_dpad(xp, d->x + i * in, s->C, s->H, s->W, g->Hp, g->Wp, g->pt, g->pl);
    transpose(gt, gy, s->O, P, Op);
    for (t = d->t0; t < d->t1; t++) {
      int r0 = t / nog * rows, og = t % nog;
      int nr = nkr - r0 < rows ? nkr - r0 : rows;
      const float *xr[6];
      for (r = 0; r < rows; r++) {
        int kr = r < nr ? r0 + r : r0, c = kr / kh, ki = kr % kh;
        xr[r] = xp + ((size_t)c * g->Hp + ki) * g->Wp;
      }
      fn(xr, gt + og * cv, Op, s->OH, s->OW, g->Wp,
         sums + (size_t)r0 * kw * Op + og * cv, nr);
    }
  }
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* p rounded up to a cache line (the scratch has 16 floats to spare) */
static float *line(float *p) {
  return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* gy's channels c0 .. c1 - 1 of gy[O, OH, OW] to g[O, plane], in rows of
** Wp (zeros after each row's OW, and after the plane's OH Wp), a vector
** at a time, masked past a row's end; and db[o] += the sum of channel o
** for o in o0 .. o1 - 1 (lane by lane in float as the rows pass, the
** lanes added in order in double) */
#define FLATTEN_BODY(VL, VEC, MASK, LANES, LOADZ, STORE, ADD, ZERO)          \
  const int OW = s->OW, Wp = geo->Wp;                                         \
  float l[16];                                                                \
  int o, r, c, k;                                                             \
  for (o = c0; o < c1; o++) {                                                 \
    float *d = g + (size_t)o * plane;                                         \
    const float *src = gy + (size_t)o * s->OH * OW;                           \
    VEC sum = ZERO;                                                           \
    size_t e;                                                                 \
    for (r = 0; r < s->OH; r++, d += Wp, src += OW)                           \
      for (c = 0; c < Wp; c += VL) {                                          \
        const MASK m = LANES(OW - c);                                         \
        VEC v = LOADZ(src + c, m);                                            \
        sum = ADD(sum, v);                                                    \
        if (Wp - c >= VL) STORE(d + c, v);                                    \
        else                                                                  \
          for (k = 0; k < Wp - c; k++) d[c + k] = c + k < OW ? src[c + k] : 0; \
      }                                                                       \
    for (e = (size_t)s->OH * Wp; e < plane; e++) g[(size_t)o * plane + e] = 0; \
    if (gb && o >= o0 && o < o1) {                                            \
      double t = 0;                                                           \
      STORE(l, sum);                                                          \
      for (k = 0; k < VL; k++) t += l[k];                                     \
      gb[o] += (float)t;                                                      \
    }                                                                         \
  }

#define LOADZ512(p, m) _mm512_maskz_loadu_ps(m, p)       /* no fault past m */

static AVX512 void flatten512(float *restrict g, const float *restrict gy,
                              float *gb, const KConvShape *s, const Geo *geo,
                              size_t plane, int c0, int c1, int o0, int o1) {
  FLATTEN_BODY(16, __m512, __mmask16, lanes16, LOADZ512, _mm512_storeu_ps,
               _mm512_add_ps, _mm512_setzero_ps())
}

#define LOADZ256(p, m) _mm256_maskload_ps(p, m)          /* no fault past m */

static AVX2 void flatten256(float *restrict g, const float *restrict gy,
                            float *gb, const KConvShape *s, const Geo *geo,
                            size_t plane, int c0, int c1, int o0, int o1) {
  FLATTEN_BODY(8, __m256, __m256i, lanes8, LOADZ256, _mm256_storeu_ps,
               _mm256_add_ps, _mm256_setzero_ps())
}

/* the pixel tiles' sums over the part's images: a vector of lanes each
** (k_dconv_wreduce adds the lanes in order in double, then to gw) */
static void bypixels(const Geo *g, const Wt *w, const KConvShape *s,
                     const DwPart *d) {
  const int P = s->OH * s->OW, kw = g->kw, kh = g->kh, nog = w->nog;
  const int mp = w->mp, nrt = w->nrt;
  const size_t in = (size_t)s->C * s->H * s->W, out = (size_t)s->O * P;
  float *xp = d->priv, *gq = line(d->priv + (k_dplane(g) + 15) / 16 * 16);
  float *mk = gq + (size_t)nog * mp * w->plane, *sums = d->sums;
  DwpFn fn = g->isa == 2 ? dwp512fn[kw - 2] : dwp256fn[kw - 2];
  /* the channels the tiles read (tile t: group t / nrt, kernel row t %
  ** nrt), and those of dL/db's beside them */
  const int c0 = d->t1 > d->t0 ? d->t0 / nrt * mp : 0;
  const int c1 = d->t1 > d->t0 ? imin((d->t1 - 1) / nrt * mp + mp, s->O) : 0;
  const int b0 = imax(d->o0, c0), b1 = imin(d->o1, c1);
  int i, t;
  memset(sums + (size_t)d->t0 * w->per, 0,
         (size_t)(d->t1 - d->t0) * w->per * sizeof *sums);
  /* the channels past O, up to whole tiles: zeros, which flatten leaves */
  memset(gq + (size_t)s->O * w->plane, 0,
         (size_t)(nog * mp - s->O) * w->plane * sizeof *gq);
  lanemasks(mk, g->isa, w->nvec, s->OH, s->OW, g->Wp);
  for (i = d->i0; i < d->i1; i++) {
    const float *gy = d->gy + i * out;
    if (d->db) {                     /* dL/db's channels that are not read */
      planesums(d->db, gy, P, d->o0, imin(d->o1, c0));
      planesums(d->db, gy, P, imax(d->o0, c1), d->o1);
    }
    if (d->t1 <= d->t0) continue;
    k_dpad(xp, d->x + i * in, s->C, s->H, s->W, g->Hp, g->Wp, g->pt, g->pl);
    if (g->isa == 2)
      flatten512(gq, gy, d->db, s, g, w->plane, c0, c1, b0, b1);
    else
      flatten256(gq, gy, d->db, s, g, w->plane, c0, c1, b0, b1);
    for (t = d->t0; t < d->t1; t++) {
      int kr = t % nrt, o0 = t / nrt * mp, nm = imin(s->O - o0, mp);
      const char *pf = (const char *)(gy + out + (size_t)c0 * P) +
                       (size_t)(t - d->t0) * w->nvec * 64;
      fn(xp + ((size_t)(kr / kh) * g->Hp + kr % kh) * g->Wp,
         gq + (size_t)o0 * w->plane, w->plane, w->nvec, mk,
         sums + (size_t)t * w->per, nm, pf);
    }
  }
}

/* the flat pixel tiles' sums over the part's images, as bypixels'; dL/db
** from the loads of each channel group's first tile (kernel row 0) where
** the part has that tile, else by lanesum: the same sums either way, so
** the bits do not depend on how the parts fall */
static void byflat(const Geo *g, const Wt *w, const KConvShape *s,
                   const DwPart *d) {
  const int P = s->OH * s->OW, kh = g->kh, mp = w->mp, nrt = w->nrt;
  const size_t in = (size_t)s->C * s->H * s->W, out = (size_t)s->O * P;
  const DwfFn fn = dwf512fn[g->kw - 2];
  float *xs = d->priv, *sums = d->sums, db[4];
  int i, t, o, m;
  memset(sums + (size_t)d->t0 * w->per, 0,
         (size_t)(d->t1 - d->t0) * w->per * sizeof *sums);
  for (i = d->i0; i < d->i1; i++) {
    const float *gy = d->gy + i * out;
    if (d->db)                  /* the channels no tile of the part sums */
      for (o = d->o0; o < d->o1; o++)
        if (o / mp * nrt < d->t0 || o / mp * nrt >= d->t1)
          d->db[o] += lanesum(gy + (size_t)o * P, P);
    if (d->t1 <= d->t0) continue;
    k_dshift(xs, d->x + i * in, g);
    if (i + 1 < d->i1) prefetch(d->x + (i + 1) * in, in);
    for (t = d->t0; t < d->t1; t++) {  /* a channel group's rows in turn */
      const int kr = t % nrt, o0 = t / nrt * mp, nm = imin(s->O - o0, mp);
      const int sum = d->db && kr == 0 && o0 + nm > d->o0 && o0 < d->o1;
      fn(xs + (size_t)(kr / kh) * g->kw * g->fs + (size_t)(kr % kh) * g->ow,
         g->fs, gy + (size_t)o0 * P, P, sums + (size_t)t * w->per, nm,
         sum ? db : NULL);
      for (m = 0; sum && m < nm; m++)
        if (o0 + m >= d->o0 && o0 + m < d->o1) d->db[o0 + m] += db[m];
    }
  }
}
#endif

void k_dconv_backw(float *shared, const float *x, const float *gy,
                   float *priv, const KConvShape *s, int ch, int t0, int t1,
                   int o0, int o1, int db) {
#ifdef DIRECT_X86
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  size_t cf = chunkfloats(&g, &w, s);
  int nch = chunks(&g, &w, s);
  DwPart d;
  d.sums = shared + cf * ch;
  d.db = db ? d.sums + cf - LINES((size_t)s->O) : NULL;
  d.priv = priv; d.x = x; d.gy = gy;
  d.t0 = t0; d.t1 = t1; d.o0 = o0; d.o1 = o1;
  d.i0 = (int)((long long)s->n * ch / nch);           /* chunk ch's images */
  d.i1 = (int)((long long)s->n * (ch + 1) / nch);
  if (t1 <= t0 && (!db || o1 <= o0)) return;
  if (d.db) memset(d.db + o0, 0, (size_t)(o1 - o0) * sizeof *d.db);
  if (w.flat) byflat(&g, &w, s, &d);
  else if (w.pix) bypixels(&g, &w, s, &d);
  else bychannels(&g, &w, s, &d);
#else
  (void)shared; (void)x; (void)gy; (void)priv; (void)s; (void)ch;
  (void)t0; (void)t1; (void)o0; (void)o1; (void)db;
#endif
}

/* gw += each chunk's sums of tiles t0 .. t1 - 1 in chunk order (a pixel
** tile's sums are vectors: their lanes are added in order in double
** first); gb[o] += each chunk's dL/db for o in o0 .. o1 - 1 */
void k_dconv_wreduce(float *gw, float *gb, const float *shared,
                     const KConvShape *s, int t0, int t1, int o0, int o1) {
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  const size_t cf = chunkfloats(&g, &w, s);
  const int nch = chunks(&g, &w, s), kw = g.kw, Op = opad(&g, s);
  int ch, t, o, k, m, l;
  for (ch = 0; ch < nch; ch++) {
    const float *sums = shared + cf * ch;
    if (gb)
      for (o = o0; o < o1; o++) gb[o] += sums[cf - LINES((size_t)s->O) + o];
    for (t = t0; t < t1; t++)
      if (w.pix) {
        int kr = t % w.nrt, c0 = t / w.nrt * w.mp, nm = s->O - c0;
        for (m = 0; m < (nm < w.mp ? nm : w.mp); m++)
          for (k = 0; k < kw; k++) {
            const float *a = sums + (size_t)t * w.per +
                             (size_t)(m * kw + k) * g.vl;
            double sum = 0;
            for (l = 0; l < g.vl; l++) sum += a[l];
            gw[(size_t)(c0 + m) * g.K + (size_t)kr * kw + k] += (float)sum;
          }
      } else {
        int r0 = t / w.nog * w.rows, cv = w.nov * g.vl, og = t % w.nog;
        int nr = s->C * g.kh - r0 < w.rows ? s->C * g.kh - r0 : w.rows;
        int oe = (og + 1) * cv < s->O ? (og + 1) * cv : s->O;
        for (o = og * cv; o < oe; o++)
          for (k = r0 * kw; k < (r0 + nr) * kw; k++)
            gw[(size_t)o * g.K + k] += sums[(size_t)k * Op + o];
      }
  }
}
