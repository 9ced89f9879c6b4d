/*
** k_direct_cv.c: the forward and dL/dx tiles of the direct stride-1
** convolution that keep a vector of output channels per pixel
** (k_direct.c has the geometry, the choice among tilings, the row-vector
** tiles and the drivers; k_direct.h what they share):
**
**  - channel-vector tiles (cv512, cv256): P pixels of one output row by
**    the VL channels of one block, each input broadcast once into every
**    sum it meets, the sums transposed into the output planes at the end;
**  - pair tiles (cw256, AVX2): two channel vectors by 6 pixels of the
**    flattened output plane, for 5 x 5 layers of 16 output channels or
**    more, where AVX2's 16 registers are too few for cv256.
**
** The widths there are kernels for are k_dcvp512, k_dcvp512k3 and
** k_dcvp256 (k_dgeo chooses among them).
*/
#include <string.h>

#include "k_direct.h"

#ifdef DIRECT_X86
/* the transposes that end the channel-vector tiles (below) */
INLINE AVX512 void tr16(__m512 *r) {        /* r[i][j] -> r[j][i] */
  __m512 t[16];
  int i;
#pragma GCC unroll 16
  for (i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 16
  for (i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
#pragma GCC unroll 16
  for (i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
#pragma GCC unroll 16
  for (i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

INLINE AVX2 void tr8(__m256 *r) {           /* r[i][j] -> r[j][i] */
  __m256 t[8];
  int i;
#pragma GCC unroll 16
  for (i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 16
  for (i = 0; i < 2; i++) {
    r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
#pragma GCC unroll 16
  for (i = 0; i < 4; i++) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
#pragma GCC unroll 16
  for (i = 0; i < 8; i++) r[i] = t[i];
}

/* Channel-vector tiles (g->cv): P output pixels of one row by the VL
** channels of one block, a vector per pixel.  For each input channel and
** kernel row the KW weight vectors stay in registers and each of the P +
** KW - 1 inputs the row's taps read is broadcast once, into every
** accumulator it meets: KW P multiply-adds for P + KW - 1 broadcasts and
** KW loads, so the FMA units, not the loads, set the pace, and every lane
** is an output (a row vector of 28 fills 28 of 32).  The sums start from
** the bias and go out through a transpose, a row of P pixels per channel.
** x: the tile's first input (channel 0, kernel row 0, tap 0); w: the
** block's weights, w[k][VL]; y: channel 0's first output, ys the channel
** stride; np valid pixels, no valid channels, b the block's bias or NULL. */
/* one body for both instruction sets: BIAS the block's biases (no of
** them), TILE the masked store of a channel's np pixels */
#define CV_BODY(VL, VEC, ZERO, LOADU, BCAST, FMA, BIAS, TR, MASKT, MASK,      \
                TILE)                                                         \
  VEC a[VL], wv[7];                                                           \
  const VEC b0 = b ? BIAS : ZERO;                                             \
  int c, ki, j, p, o;                                                         \
  _Pragma("GCC unroll 16") for (p = 0; p < VL; p++)                           \
    a[p] = p < P ? b0 : ZERO;                                                 \
  for (c = 0; c < nc; c++)                                                    \
    for (ki = 0; ki < kh; ki++, w += KW * VL) {                               \
      const float *xr = x + c * plane + (size_t)ki * Wp;                      \
      _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                        \
        wv[j] = LOADU(w + j * VL);                                            \
      _Pragma("GCC unroll 7") for (j = 0; j < KW; j++)                        \
      _Pragma("GCC unroll 16") for (p = 0; p < P; p++)                        \
        a[p] = FMA(BCAST(xr + p + j), wv[j], a[p]);                           \
    }                                                                         \
  TR(a);                                                                      \
  {                                                                           \
    const MASKT m = MASK;                                                     \
    _Pragma("GCC unroll 16") for (o = 0; o < VL; o++) {                       \
      if (o >= no) break;                                                     \
      TILE;                                                                   \
    }                                                                         \
  }

INLINE AVX512 void cv512(const int P, const int KW, int nc, int kh,
                         size_t plane, int Wp, const float *x, const float *w,
                         float *y, size_t ys, int np, int no, const float *b) {
  CV_BODY(16, __m512, _mm512_setzero_ps(), _mm512_loadu_ps, BC512,
          _mm512_fmadd_ps, _mm512_maskz_loadu_ps(lanes16(no), b), tr16,
          __mmask16, lanes16(np), _mm512_mask_storeu_ps(y + o * ys, m, a[o]))
}

INLINE AVX2 void cv256(const int P, const int KW, int nc, int kh,
                       size_t plane, int Wp, const float *x, const float *w,
                       float *y, size_t ys, int np, int no, const float *b) {
  CV_BODY(8, __m256, _mm256_setzero_ps(), _mm256_loadu_ps, _mm256_broadcast_ss,
          _mm256_fmadd_ps, _mm256_maskload_ps(b, lanes8(no)), tr8, int,
          np, store8n(y + o * ys, a[o], m))
}

/* AVX2 has 16 vector registers, too few for cv256's weights and a
** pixel's vector per accumulator chain: GCC spilled two of them in the
** inner loop, and 7 chains of one FMA a tap waited on the FMA's latency.
** Where a layer has 16 output channels or more, pair tiles (CW) take two
** channel vectors by 6 pixels instead: 12 sums, each broadcast input
** meets both weight vectors, and the 6 pixels are any 6 in a row of the
** flattened output plane (po: their inputs' offsets), so a tile crosses
** output rows and no pixel is wasted.  w: w[k][16], both vectors; y:
** channel 0's output at the tile's first pixel; np valid pixels, no
** valid channels (at most 16); b the block's 16 biases or NULL. */

INLINE AVX2 void cw256(const int KW, int nc, int kh, size_t plane, int Wp,
                       const float *x, const int *po, const float *w,
                       float *y, size_t ys, int np, int no, const float *b) {
  __m256 a[CWP][2], r[8];
  const __m256 z = _mm256_setzero_ps();
  const __m256 b0 = b ? _mm256_maskload_ps(b, lanes8(no)) : z;
  const __m256 b1 = b ? _mm256_maskload_ps(b + 8, lanes8(no - 8)) : z;
  int c, ki, j, p, v, o;
#pragma GCC unroll 8
  for (p = 0; p < CWP; p++) {
    a[p][0] = b0;
    a[p][1] = b1;
  }
  for (c = 0; c < nc; c++)
    for (ki = 0; ki < kh; ki++) {
      const float *xr = x + c * plane + (size_t)ki * Wp;
#pragma GCC unroll 7
      for (j = 0; j < KW; j++, w += 16) {
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#pragma GCC unroll 8
        for (p = 0; p < CWP; p++) {
          const __m256 xv = _mm256_broadcast_ss(xr + po[p] + j);
          a[p][0] = _mm256_fmadd_ps(xv, w0, a[p][0]);
          a[p][1] = _mm256_fmadd_ps(xv, w1, a[p][1]);
        }
      }
    }
#pragma GCC unroll 2
  for (v = 0; v < 2; v++) {
#pragma GCC unroll 8
    for (p = 0; p < 8; p++) r[p] = p < CWP ? a[p][v] : z;
    tr8(r);
#pragma GCC unroll 8
    for (o = 0; o < 8; o++) {
      float *yo = y + (size_t)(8 * v + o) * ys;
      if (8 * v + o >= no) break;
      if (np == CWP) {          /* storen's 4 + 2, without its tests */
        _mm_storeu_ps(yo, _mm256_castps256_ps128(r[o]));
        _mm_storel_pi((__m64 *)(void *)(yo + 4),
                      _mm256_extractf128_ps(r[o], 1));
      } else storen(yo, r[o], np);
    }
  }
}

typedef void (*CwFn)(int nc, int kh, size_t plane, int Wp, const float *x,
                     const int *po, const float *w, float *y, size_t ys,
                     int np, int no, const float *b);
static AVX2 void cw256_5(int nc, int kh, size_t plane, int Wp,
                         const float *x, const int *po, const float *w,
                         float *y, size_t ys, int np, int no, const float *b) {
  cw256(5, nc, kh, plane, Wp, x, po, w, y, ys, np, no, b);
}

typedef void (*CvFn)(int nc, int kh, size_t plane, int Wp, const float *x,
                     const float *w, float *y, size_t ys, int np, int no,
                     const float *b);
#define CVARGS int nc, int kh, size_t plane, int Wp, const float *x, \
  const float *w, float *y, size_t ys, int np, int no, const float *b
#define CVPASS nc, kh, plane, Wp, x, w, y, ys, np, no, b
#define CV512(P, KW) \
  static AVX512 void cv512_##P##_##KW(CVARGS) { cv512(P, KW, CVPASS); }
#define CV256(P, KW) \
  static AVX2 void cv256_##P##_##KW(CVARGS) { cv256(P, KW, CVPASS); }
CV512(16, 5) CV512(14, 5) CV512(12, 5) CV512(10, 5) CV512(8, 5) CV512(8, 3)
CV256(8, 5) CV256(7, 5) CV256(6, 5)

/* the tile widths there are kernels for, widest first, and the kernels by
** width (kw 5, and kw 3 at width 8 on AVX-512: cvwanted's choices) */
const int k_dcvp512[] = {16, 14, 12, 10, 8, 0}, k_dcvp512k3[] = {8, 0};
const int k_dcvp256[] = {8, 7, 6, 0};
static const CvFn cvfn512[5] = {cv512_16_5, cv512_14_5, cv512_12_5,
                                cv512_10_5, cv512_8_5};
static const CvFn cvfn256[3] = {cv256_8_5, cv256_7_5, cv256_6_5};

/* one image by channel-vector tiles: xp padded, y[no, oh, ow] */
void k_dcvtiles(const Geo *g, float *y, const float *xp, const float *wp,
                const float *b) {
  const int vl = g->vl, P = g->cv;
  const CvFn fn = g->isa == 1 ? cvfn256[g->cvi]
                  : g->kw == 3 ? cv512_8_3 : cvfn512[g->cvi];
  const size_t ys = (size_t)g->oh * g->ow, plane = (size_t)g->Hp * g->Wp;
  int ob, oy, ox;
  for (ob = 0; ob < g->no; ob += vl) {
    const float *w = wp + (size_t)ob * g->K;
    const int no = g->no - ob < vl ? g->no - ob : vl;
    for (oy = 0; oy < g->oh; oy++)
      for (ox = 0; ox < g->ow; ox += P)
        fn(g->nc, g->kh, plane, g->Wp, xp + (size_t)oy * g->Wp + ox, w,
           y + (size_t)ob * ys + (size_t)oy * g->ow + ox, ys,
           g->ow - ox < P ? g->ow - ox : P, no, b ? b + ob : NULL);
  }
}

/* one image by pair tiles (AVX2): 6 pixels of the flattened output plane
** at a time, their inputs' offsets stepped along without division */
void k_dcwtiles(const Geo *g, float *y, const float *xp, const float *wp,
                const float *b) {
  const int npix = g->oh * g->ow;
  const size_t ys = (size_t)npix, plane = (size_t)g->Hp * g->Wp;
  int ob, q, p, po[CWP];
  for (ob = 0; ob < g->no; ob += 16) {
    const float *w = wp + (size_t)ob * g->K;
    const int no = g->no - ob < 16 ? g->no - ob : 16;
    int oy = 0, ox = 0;                /* pixel q's row and column */
    for (q = 0; q < npix; q += CWP) {
      const int np = npix - q < CWP ? npix - q : CWP;
      for (p = 0; p < CWP; p++) {      /* past the end: the last again */
        po[p] = oy * g->Wp + ox;
        if (p + 1 < np && ++ox == g->ow) { ox = 0; oy++; }
      }
      if (np == CWP && ++ox == g->ow) { ox = 0; oy++; }
      cw256_5(g->nc, g->kh, plane, g->Wp, xp, po, w, y + (size_t)ob * ys + q,
              ys, np, no, b ? b + ob : NULL);
    }
  }
}
#endif
