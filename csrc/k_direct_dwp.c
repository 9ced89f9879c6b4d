/*
** k_direct_dwp.c: dL/dW of the direct stride-1 convolution by pixel
** vectors (k_direct_dw.c has the tiling, the chunks, the channel tiles
** and the reduction; k_direct.h what they share), for layers whose
** channels fill one vector or an odd number of them:
**
**  - over padded rows (k_dw_bypixels): gy copied to rows Wp wide, the
**    lanes past each row's OW masked (AVX-512) or x zeroed there (AVX2);
**  - over shifted planes (k_dw_byflat), where the forward takes them
**    (AVX-512, one input channel): gy where it lies, no lane wasted, and
**    dL/db from the same loads.
**
** Each sum is a vector of lanes, in one fixed order; k_dconv_wreduce adds
** each lane over the chunks, then the lanes, in double (lanetree).
*/
#include <stdint.h>
#include <string.h>

#include "k_direct.h"

#ifdef DIRECT_X86
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
** the first layer's dL/dW on Zen 4).  One line a vector of the npf from
** pf on is fetched toward L2: the caller's share of the next image's gy,
** which comes from L3 or memory (gy is 3.2 MB for the first layer at
** batch 64; with L3 taken by a neighbour on the host, dL/dW had taken
** 35% longer, and with every cache flushed first 700 us against 450,
** 570 with these). */
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
  for (q = 0; q + 16 <= P; q += 16)
    a = _mm512_add_ps(a, _mm512_loadu_ps(g + q));
  if (q < P) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(lanes16(P - q), g + q));
  return (float)hsumd(a);
}

INLINE AVX512 void dwf512(const int MP, const int KW, const int DB,
                          const float *x, size_t fs, const float *g, int P,
                          float *acc, int nm, float *db, const char *pf,
                          int npf) {
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
    if (q < npf) _mm_prefetch(pf + (size_t)q * 64, _MM_HINT_T1);
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
                      float *acc, int nm, float *db, const char *pf, int npf);

#define DWF_INST(KW)                                                          \
  static AVX512 void dwf512_##KW(const float *x, size_t fs, const float *g,   \
                                 int P, float *acc, int nm, float *db,        \
                                 const char *pf, int npf) {                   \
    if (db) dwf512(DWPCH(21, KW), KW, 1, x, fs, g, P, acc, nm, db, pf, npf);  \
    else dwf512(DWPCH(21, KW), KW, 0, x, fs, g, P, acc, nm, db, pf, npf);     \
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
** (k_dconv_wreduce sums them over the chunks and lanes, then adds to gw) */
void k_dw_bypixels(const Geo *g, const Wt *w, const KConvShape *s,
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
      k_dw_planesums(d->db, gy, P, d->o0, imin(d->o1, c0));
      k_dw_planesums(d->db, gy, P, imax(d->o0, c1), d->o1);
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
** the bits do not depend on how the parts fall.  The tiles of image i
** fetch image i + 1's x and gy, in the next part too: a thread mostly
** takes parts in order. */
void k_dw_byflat(const Geo *g, const Wt *w, const KConvShape *s,
                 const DwPart *d) {
  const int P = s->OH * s->OW, kh = g->kh, mp = w->mp, nrt = w->nrt;
  const size_t in = (size_t)s->C * s->H * s->W, out = (size_t)s->O * P;
  const DwfFn fn = dwf512fn[g->kw - 2];
  float *xs = d->priv, *sums = d->sums, db[4];
  const size_t nl = (out + 15) / 16, nt = (size_t)imax(d->t1 - d->t0, 1);
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
    if (i + 1 < s->n) prefetch(d->x + (i + 1) * in, in);
    for (t = d->t0; t < d->t1; t++) {  /* a channel group's rows in turn */
      const int kr = t % nrt, o0 = t / nrt * mp, nm = imin(s->O - o0, mp);
      const int sum = d->db && kr == 0 && o0 + nm > d->o0 && o0 < d->o1;
      const size_t l0 = nl * (t - d->t0) / nt, l1 = nl * (t + 1 - d->t0) / nt;
      fn(xs + (size_t)(kr / kh) * g->kw * g->fs + (size_t)(kr % kh) * g->ow,
         g->fs, gy + (size_t)o0 * P, P, sums + (size_t)t * w->per, nm,
         sum ? db : NULL,
         i + 1 < s->n ? (const char *)(gy + out) + l0 * 64 : NULL,
         i + 1 < s->n ? (int)(l1 - l0) : 0);
      for (m = 0; sum && m < nm; m++)
        if (o0 + m >= d->o0 && o0 + m < d->o1) d->db[o0 + m] += db[m];
    }
  }
}
#endif
