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
**  - by pixel vectors (k_direct_dwp.c), where the channels fill one
**    vector (O = 16, the first layer of a CNN): with one channel vector
**    the tiles above load once per FMA.  A tile is MP channels by the kw
**    taps of one kernel row, each sum a vector of pixels, over flat planes
**    of rows Wp wide: per vector MP loads of gy, one of x (the taps
**    shifted out of two), MP kw FMAs.  The price: the lanes of columns OW
**    .. Wp - 1 (28 of 32 are pixels for 5 x 5 taps on 28 x 28) and a copy
**    of gy in that layout.  Where the forward takes shifted planes
**    (AVX-512, one input channel) the same tiles run over them, on gy
**    where it lies, with no lane wasted.
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
#include <string.h>

#include "k_direct.h"

/* the kernel rows per dL/dW tile: as many as keep R KW NOV sums within
** acc registers (25 of AVX-512's 32, 12 of AVX2's 16), at most 6 */
#define DWROWS(acc, KW, NOV) \
  ((acc) / ((KW) * (NOV)) < 1 ? 1 : (acc) / ((KW) * (NOV)) > 6 ? 6 \
                                  : (acc) / ((KW) * (NOV)))


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

/* db[o] += the sum of gy's plane o over its P pixels, for o in o0 .. o1 -
** 1: in double, sixteen running sums (four chains of four, named so
** that GCC keeps them in registers and the adds do not wait on each
** other), of pixels p = 16 q + l, added up in a fixed order, then the
** last pixels */
AVX2 void k_dw_planesums(float *gb, const float *gy, int P, int o0,
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


static Wt wtiling(const Geo *g, const KConvShape *s) {
  Wt w;
  int acc = g->isa == 2 ? 25 : 12, nv = opad(g, s) / g->vl;
  w.flat = g->flat;
  w.pix = w.flat || (nv % 2 == 1 && 4 * s->OW >= 3 * g->Wp);
  w.nvec = 0;
  w.plane = 0;
  if (w.pix) {
    if (!w.flat) {              /* gy's copy in rows Wp wide */
      w.nvec = (int)(((size_t)s->OH * g->Wp + g->vl - 1) / g->vl);
      w.plane = (size_t)w.nvec * g->vl;
    }
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
    if (d->db) k_dw_planesums(d->db, gy, P, d->o0, d->o1);
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
  if (w.flat) k_dw_byflat(&g, &w, s, &d);
  else if (w.pix) k_dw_bypixels(&g, &w, s, &d);
  else bychannels(&g, &w, s, &d);
#else
  (void)shared; (void)x; (void)gy; (void)priv; (void)s; (void)ch;
  (void)t0; (void)t1; (void)o0; (void)o1; (void)db;
#endif
}

/* One sum of a pixel tile over every chunk, a[0 .. vl - 1] in each of
** nch chunks cf floats apart: in double, each lane over the chunks in
** order from 0, then the lanes in a fixed tree (lane l + h into l, h =
** vl / 2 down to 1).  Each chunk's lanes added in order, then to gw, had
** been 6% of the first layer's dL/dW on Zen 4 (16 dependent adds a sum);
** this tree in plain C, 5%; in vectors, 1%. */
#ifdef DIRECT_X86
static AVX512 float lanetree16(const float *a, size_t cf, int nch) {
  __m512d lo = _mm512_setzero_pd(), hi = lo, s8;
  __m256d s4;
  __m128d s2;
  int ch;
  for (ch = 0; ch < nch; ch++) {
    const __m512 x = _mm512_loadu_ps(a + cf * ch);
    const __m512d xd = _mm512_castps_pd(x);
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(
                                _mm512_extractf64x4_pd(xd, 1))));
  }
  s8 = _mm512_add_pd(lo, hi);
  s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8),
                     _mm512_extractf64x4_pd(s8, 1));
  s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
  return (float)_mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}

static AVX2 float lanetree8(const float *a, size_t cf, int nch) {
  __m256d lo = _mm256_setzero_pd(), hi = lo, s4;
  __m128d s2;
  int ch;
  for (ch = 0; ch < nch; ch++) {
    const __m256 x = _mm256_loadu_ps(a + cf * ch);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
  }
  s4 = _mm256_add_pd(lo, hi);
  s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
  return (float)_mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}
#endif

/* gw += the sums of tiles t0 .. t1 - 1 over the chunks (a channel tile's
** chunk by chunk in order, a pixel tile's by lanetree); gb[o] += each
** chunk's dL/db in chunk order for o in o0 .. o1 - 1 */
void k_dconv_wreduce(float *gw, float *gb, const float *shared,
                     const KConvShape *s, int t0, int t1, int o0, int o1) {
  Geo g = k_dgeo(s, 0);
  Wt w = wtiling(&g, s);
  const size_t cf = chunkfloats(&g, &w, s);
  const int nch = chunks(&g, &w, s), kw = g.kw, Op = opad(&g, s);
  int ch, t, o, k;
#ifdef DIRECT_X86
  if (w.pix)
    for (t = t0; t < t1; t++) {
      int kr = t % w.nrt, c0 = t / w.nrt * w.mp, nm = imin(s->O - c0, w.mp);
      const float *a = shared + (size_t)t * w.per;
      int m;
      for (m = 0; m < nm; m++)
        for (k = 0; k < kw; k++)
          gw[(size_t)(c0 + m) * g.K + (size_t)kr * kw + k] +=
              g.vl == 16 ? lanetree16(a + (size_t)(m * kw + k) * 16, cf, nch)
                         : lanetree8(a + (size_t)(m * kw + k) * 8, cf, nch);
    }
#endif
  for (ch = 0; ch < nch; ch++) {
    const float *sums = shared + cf * ch;
    if (gb)
      for (o = o0; o < o1; o++) gb[o] += sums[cf - LINES((size_t)s->O) + o];
    if (w.pix) continue;                  /* by lanetree above */
    for (t = t0; t < t1; t++) {
      int r0 = t / w.nog * w.rows, cv = w.nov * g.vl, og = t % w.nog;
      int nr = s->C * g.kh - r0 < w.rows ? s->C * g.kh - r0 : w.rows;
      int oe = (og + 1) * cv < s->O ? (og + 1) * cv : s->O;
      for (o = og * cv; o < oe; o++)
        for (k = r0 * kw; k < (r0 + nr) * kw; k++)
          gw[(size_t)o * g.K + k] += sums[(size_t)k * Op + o];
    }
  }
}
