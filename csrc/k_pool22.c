/*
** k_pool22.c: 2 x 2 max pooling of stride 2, the pooling every small CNN
** uses, in AVX-512 or AVX2 where the CPU has it and k_direct.c's choice
** allows it (k_direct_isa() 2 or 1); k_conv.c's k_maxpool does every
** other case, to the same bits.  On an AVX2 machine (Zen 3) the generic
** loops were a fifth of the example CNN's training step: 6.9 ms of 34,
** against PyTorch's 1.3 ms for the backward alone.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "k_direct.h"            /* DIRECT_X86, k_x86.h */

/* Output row oy from input rows 2 oy and 2 oy + 1, 16 outputs at a time
** (AVX2: 8): each input row's 32 floats split into even and odd columns,
** so that a, b, c, d are the four taps of 16 windows in (row, column) order.
** The maximum keeps the first of equal taps (MAXPS returns its second
** operand on ties, here the running maximum), and a window holding a NaN
** gives NaN, as k_conv.c's windowmax.  Backward sends each window's
** gradient to its first tap equal to the maximum, or for a NaN maximum
** to its last NaN, as k_conv.c's argmax; a tap not chosen gets 0. */
#ifdef DIRECT_X86
static const int32_t evens[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                  24, 26, 28, 30};
static const int32_t lows[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                 22, 7, 23};

INLINE AVX512 void split512(const float *r, int n, __m512 *ev, __m512 *od) {
  const __m512i ie = _mm512_loadu_si512(evens);
  const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
  __m512 v0 = _mm512_maskz_loadu_ps(lanes16(2 * n), r);
  __m512 v1 = _mm512_maskz_loadu_ps(lanes16(2 * n - 16), r + 16);
  *ev = _mm512_permutex2var_ps(v0, ie, v1);
  *od = _mm512_permutex2var_ps(v0, io, v1);
}

static AVX512 void pool22f512(float *restrict y, const float *restrict x,
                              int planes, int H, int W, int OH, int OW) {
  const __m512 qnan = _mm512_set1_ps(NAN);
  int c, oy, ox;
  for (c = 0; c < planes; c++) {
    const float *xc = x + (size_t)c * H * W;
    for (oy = 0; oy < OH; oy++, y += OW) {
      const float *r0 = xc + (size_t)2 * oy * W, *r1 = r0 + W;
      for (ox = 0; ox < OW; ox += 16) {
        int n = OW - ox < 16 ? OW - ox : 16;
        __m512 a, b, cc, d, m;
        __mmask16 nan;
        split512(r0 + 2 * ox, n, &a, &b);
        split512(r1 + 2 * ox, n, &cc, &d);
        m = _mm512_max_ps(b, a);
        m = _mm512_max_ps(cc, m);
        m = _mm512_max_ps(d, m);
        nan = _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q) |
              _mm512_cmp_ps_mask(cc, d, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, nan, qnan);
        _mm512_mask_storeu_ps(y + ox, lanes16(n), m);
      }
    }
  }
}

/* the gradients of the taps a, b (one input row's even and odd columns)
** back into that row, interleaved */
INLINE AVX512 void merge512(float *r, int n, __m512 ga, __m512 gb) {
  const __m512i il = _mm512_loadu_si512(lows);
  const __m512i ih = _mm512_add_epi32(il, _mm512_set1_epi32(8));
  _mm512_mask_storeu_ps(r, lanes16(2 * n), _mm512_permutex2var_ps(ga, il, gb));
  _mm512_mask_storeu_ps(r + 16, lanes16(2 * n - 16),
                        _mm512_permutex2var_ps(ga, ih, gb));
}

static AVX512 void pool22b512(float *restrict gx, const float *restrict x,
                              const float *restrict y,
                              const float *restrict gy, int planes, int H,
                              int W, int OH, int OW) {
  const __m512 z = _mm512_setzero_ps();
  int c, oy, ox, i;
  for (c = 0; c < planes; c++) {
    const float *xc = x + (size_t)c * H * W;
    float *gc = gx + (size_t)c * H * W;
    for (oy = 0; oy < OH; oy++, y += OW, gy += OW) {
      const float *r0 = xc + (size_t)2 * oy * W, *r1 = r0 + W;
      for (ox = 0; ox < OW; ox += 16) {
        int n = OW - ox < 16 ? OW - ox : 16;
        __mmask16 l = lanes16(n), ea, eb, ec, ed, yn;
        __m512 a, b, cc, d, m = _mm512_maskz_loadu_ps(l, y + ox);
        __m512 g = _mm512_maskz_loadu_ps(l, gy + ox);
        split512(r0 + 2 * ox, n, &a, &b);
        split512(r1 + 2 * ox, n, &cc, &d);
        yn = _mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q);
        if (yn == 0) {             /* the first tap equal to the maximum */
          ea = _mm512_cmp_ps_mask(a, m, _CMP_EQ_OQ);
          eb = _mm512_cmp_ps_mask(b, m, _CMP_EQ_OQ) & ~ea;
          ec = _mm512_cmp_ps_mask(cc, m, _CMP_EQ_OQ) & ~(ea | eb);
          ed = _mm512_cmp_ps_mask(d, m, _CMP_EQ_OQ) & ~(ea | eb | ec);
        } else {                   /* windows holding a NaN: their last */
          __mmask16 na = _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
          __mmask16 nb = _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
          __mmask16 nc = _mm512_cmp_ps_mask(cc, cc, _CMP_UNORD_Q);
          __mmask16 nd = _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
          __mmask16 f = ~yn;
          ea = _mm512_cmp_ps_mask(a, m, _CMP_EQ_OQ) & f;
          eb = _mm512_cmp_ps_mask(b, m, _CMP_EQ_OQ) & ~ea & f;
          ec = _mm512_cmp_ps_mask(cc, m, _CMP_EQ_OQ) & ~(ea | eb) & f;
          ed = _mm512_cmp_ps_mask(d, m, _CMP_EQ_OQ) & ~(ea | eb | ec) & f;
          nd &= yn;
          nc &= yn & ~nd;
          nb &= yn & ~(nc | nd);
          na &= yn & ~(nb | nc | nd);
          ea |= na;
          eb |= nb;
          ec |= nc;
          ed |= nd;
        }
        merge512(gc + (size_t)2 * oy * W + 2 * ox, n,
                 _mm512_mask_mov_ps(z, ea, g), _mm512_mask_mov_ps(z, eb, g));
        merge512(gc + (size_t)(2 * oy + 1) * W + 2 * ox, n,
                 _mm512_mask_mov_ps(z, ec, g), _mm512_mask_mov_ps(z, ed, g));
      }
      for (i = 2 * OW; i < W; i++)           /* an odd last column */
        gc[(size_t)2 * oy * W + i] = gc[(size_t)(2 * oy + 1) * W + i] = 0;
    }
    if (2 * OH < H)                          /* an odd last row */
      memset(gc + (size_t)2 * OH * W, 0, (size_t)W * sizeof *gc);
  }
}
/* AVX2: the same, 8 outputs at a time; whole vectors load and store
** plainly, a last part of a row loads masked and stores by store8n (a
** masked store is slow on AMD: 7-wide rows made the backward 4.8% of
** the CNN's training step) */
INLINE AVX2 void split256(const float *r, int n, __m256 *ev, __m256 *od) {
  __m256 v0, v1, e, o;
  if (n == 8) {
    v0 = _mm256_loadu_ps(r);
    v1 = _mm256_loadu_ps(r + 8);
  } else {
    v0 = _mm256_maskload_ps(r, lanes8(2 * n));
    v1 = _mm256_maskload_ps(r + 8, lanes8(2 * n - 8));
  }
  /* per 128-bit half: v0's evens, v1's evens; then the halves' middle
  ** 64-bit quarters swapped */
  e = _mm256_shuffle_ps(v0, v1, 0x88);
  o = _mm256_shuffle_ps(v0, v1, 0xdd);
  *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8));
  *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8));
}

INLINE AVX2 __m256 load8(const float *p, int n) {
  return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes8(n));
}

static AVX2 void pool22f256(float *restrict y, const float *restrict x,
                            int planes, int H, int W, int OH, int OW) {
  const __m256 qnan = _mm256_set1_ps(NAN);
  int c, oy, ox;
  for (c = 0; c < planes; c++) {
    const float *xc = x + (size_t)c * H * W;
    for (oy = 0; oy < OH; oy++, y += OW) {
      const float *r0 = xc + (size_t)2 * oy * W, *r1 = r0 + W;
      for (ox = 0; ox < OW; ox += 8) {
        int n = OW - ox < 8 ? OW - ox : 8;
        __m256 a, b, cc, d, m, nan;
        split256(r0 + 2 * ox, n, &a, &b);
        split256(r1 + 2 * ox, n, &cc, &d);
        m = _mm256_max_ps(b, a);
        m = _mm256_max_ps(cc, m);
        m = _mm256_max_ps(d, m);
        nan = _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q),
                           _mm256_cmp_ps(cc, d, _CMP_UNORD_Q));
        store8n(y + ox, _mm256_blendv_ps(m, qnan, nan), n);
      }
    }
  }
}

/* the gradients of the taps a, b back into their row, interleaved */
INLINE AVX2 void merge256(float *r, int n, __m256 ga, __m256 gb) {
  __m256 lo = _mm256_unpacklo_ps(ga, gb), hi = _mm256_unpackhi_ps(ga, gb);
  __m256 o0 = _mm256_permute2f128_ps(lo, hi, 0x20);
  __m256 o1 = _mm256_permute2f128_ps(lo, hi, 0x31);
  store8n(r, o0, 2 * n);
  store8n(r + 8, o1, 2 * n - 8);
}

#define EQ(u, v) _mm256_cmp_ps(u, v, _CMP_EQ_OQ)
#define ISNAN(u) _mm256_cmp_ps(u, u, _CMP_UNORD_Q)
#define OR(u, v) _mm256_or_ps(u, v)
#define BUT(u, nv) _mm256_andnot_ps(nv, u)         /* u and not nv */

static AVX2 void pool22b256(float *restrict gx, const float *restrict x,
                            const float *restrict y,
                            const float *restrict gy, int planes, int H,
                            int W, int OH, int OW) {
  int c, oy, ox, i;
  for (c = 0; c < planes; c++) {
    const float *xc = x + (size_t)c * H * W;
    float *gc = gx + (size_t)c * H * W;
    for (oy = 0; oy < OH; oy++, y += OW, gy += OW) {
      const float *r0 = xc + (size_t)2 * oy * W, *r1 = r0 + W;
      for (ox = 0; ox < OW; ox += 8) {
        int n = OW - ox < 8 ? OW - ox : 8;
        __m256 a, b, cc, d, ea, eb, ec, ed, yn;
        __m256 m = load8(y + ox, n), g = load8(gy + ox, n);
        split256(r0 + 2 * ox, n, &a, &b);
        split256(r1 + 2 * ox, n, &cc, &d);
        yn = ISNAN(m);
        ea = EQ(a, m);             /* the first tap equal to the maximum */
        eb = BUT(EQ(b, m), ea);
        ec = BUT(EQ(cc, m), OR(ea, eb));
        ed = BUT(EQ(d, m), OR(OR(ea, eb), ec));
        if (_mm256_movemask_ps(yn)) {   /* windows holding a NaN: their last */
          __m256 nd = _mm256_and_ps(ISNAN(d), yn);
          __m256 nc = BUT(_mm256_and_ps(ISNAN(cc), yn), nd);
          __m256 nb = BUT(_mm256_and_ps(ISNAN(b), yn), OR(nc, nd));
          __m256 na = BUT(_mm256_and_ps(ISNAN(a), yn), OR(OR(nb, nc), nd));
          ea = OR(ea, na);         /* a NaN maximum equals no tap above */
          eb = OR(eb, nb);
          ec = OR(ec, nc);
          ed = OR(ed, nd);
        }
        merge256(gc + (size_t)2 * oy * W + 2 * ox, n, _mm256_and_ps(ea, g),
                 _mm256_and_ps(eb, g));
        merge256(gc + (size_t)(2 * oy + 1) * W + 2 * ox, n,
                 _mm256_and_ps(ec, g), _mm256_and_ps(ed, g));
      }
      for (i = 2 * OW; i < W; i++)           /* an odd last column */
        gc[(size_t)2 * oy * W + i] = gc[(size_t)(2 * oy + 1) * W + i] = 0;
    }
    if (2 * OH < H)                          /* an odd last row */
      memset(gc + (size_t)2 * OH * W, 0, (size_t)W * sizeof *gc);
  }
}
#undef EQ
#undef ISNAN
#undef OR
#undef BUT
#endif

/* 2 x 2 max pooling of stride 2, no padding, of planes images of H x W
** (H, W >= 2): 1 if done, 0 if these kernels do not run here */
int k_maxpool22_forward(float *y, const float *x, int planes, int H, int W) {
#ifdef DIRECT_X86
  if (k_direct_isa() == 2) {
    pool22f512(y, x, planes, H, W, H / 2, W / 2);
    return 1;
  }
  if (k_direct_isa() == 1) {
    pool22f256(y, x, planes, H, W, H / 2, W / 2);
    return 1;
  }
#endif
  (void)y; (void)x; (void)planes; (void)H; (void)W;
  return 0;
}

int k_maxpool22_backward(float *gx, const float *x, const float *y,
                         const float *gy, int planes, int H, int W) {
#ifdef DIRECT_X86
  if (k_direct_isa() == 2) {
    pool22b512(gx, x, y, gy, planes, H, W, H / 2, W / 2);
    return 1;
  }
  if (k_direct_isa() == 1) {
    pool22b256(gx, x, y, gy, planes, H, W, H / 2, W / 2);
    return 1;
  }
#endif
  (void)gx; (void)x; (void)y; (void)gy; (void)planes; (void)H; (void)W;
  return 0;
}
