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
**  - where they measured faster, tiles that keep a vector of channels
**    per pixel (k_direct_cv.c), or, for one input channel on AVX-512, the
**    row-vector tiles over kw shifted copies of the image (k_dshift), the
**    vectors then running along the flattened output plane.
**
** Every sum runs in one fixed order (forward and dL/dx: taps in order;
** dL/dW: images, then pixels in order, from 0), whatever the caller
** splits among threads: callers that split images (forward, dL/dx) or
** tiles of dL/dW get the same bits on any number of threads.
**
** The kernels are chosen as k_gemm.c's (NN_GEMM=portable or avx2 holds
** the choice down); k_direct_isa says which.  No allocation: the caller
** gives the scratch, sized by the functions below.  dL/dW and dL/db are
** in k_direct_dw.c and k_direct_dwp.c, and what the files share in
** k_direct.h.
*/
#include <stdint.h>
#include <string.h>

#include "k_direct.h"

/* ---- what both directions share ------------------------------------------ */

/* One image x[C, H, W] into xp[C, Hp, Wp] at row pt, column pl, zeros
** around, and SLACK zeros after: the vector loads of the last row reach
** past its end (into lanes never stored, or masked). */
void k_dpad(float *restrict xp, const float *restrict x, int C, int H,
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


#ifdef DIRECT_X86
/* (k_direct.h) AVX-512 only, as the shifted planes are (flatwanted): the
** image is padded first (k_dpad, into the scratch past the planes), and
** each plane's row is one or two vectors of a padded row.  A memcpy and
** two memsets for every plane's row had been 9% of the first layer's
** dL/dW; one padded row on the stack, read back at once, 6% (the loads
** waited on the stores). */
AVX512 void k_dshift(float *restrict xs, const float *restrict x,
                     const Geo *g) {
  const size_t planes = (size_t)g->nc * g->kw * g->fs;
  float *xp = xs + planes + SLACK;
  const int ow = g->ow;
  int c, j, r, ox;
  k_dpad(xp, x, g->nc, g->ih, g->iw, g->Hp, g->Wp, g->pt, g->pl);
  for (c = 0; c < g->nc; c++)
    for (j = 0; j < g->kw; j++) {
      float *d = xs + ((size_t)c * g->kw + j) * g->fs;
      const float *p = xp + (size_t)c * g->Hp * g->Wp + j;
      for (r = 0; r < g->Hp; r++, d += ow, p += g->Wp) {
        for (ox = 0; ox + 16 <= ow; ox += 16)
          _mm512_storeu_ps(d + ox, _mm512_loadu_ps(p + ox));
        if (ox < ow) {
          const __mmask16 m = lanes16(ow - ox);
          _mm512_mask_storeu_ps(d + ox, m, _mm512_maskz_loadu_ps(m, p + ox));
        }
      }
      memset(d, 0, (g->fs - (size_t)g->Hp * ow) * sizeof *d);
    }
  memset(xs + planes, 0, SLACK * sizeof *xs);
}
#endif

/* The taps' offsets: off[(c kh + ki) kw + kj] = (c Hp + ki) Wp + kj in a
** padded plane of Hp x Wp, or (c kw + kj) fs + ki ow in shifted planes */
static void offsets(int *off, const Geo *g) {
  int c, i, j, k = 0;
  for (c = 0; c < g->nc; c++)
    for (i = 0; i < g->kh; i++)
      for (j = 0; j < g->kw; j++)
        off[k++] = g->flat ? (int)((c * g->kw + j) * g->fs) + i * g->ow
                           : (c * g->Hp + i) * g->Wp + j;
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

#ifdef DIRECT_X86
/* Forward tiles: MO channels by RV row vectors.  xr[r] is row vector r's
** first input element (its tap (0, 0, 0)), yr[r] its first output, ys
** the output's channel stride, n[r] its valid lanes, no the valid
** channels, b the bias (or NULL). */
enum { F5MO = 8, F5RV = 3, F2MO = 4, F2RV = 3 };

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
      store8n(yr[r] + o * ys, v, n[r]);
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

#endif

/* ---- the choice, the geometry ------------------------------------------- */

#ifdef DIRECT_X86
/* Channel-vector tiles where they measured faster than row-vector tiles
** (one batch of 16 to 64, forward and backward, GFLOP/s on one core):
**  - AVX2, kw 5: Conv2d 1->16 at 28 x 28 72 against 49, 16->32 at 14 x 14
**    77 against 62 forward and 80 against 62 backward.  At 3 x 3 they lost
**    (64->64 at 8 x 8 55 against 67, 32->64 at 16 x 16 59 against 70).
**  - AVX-512, kw 5, rows of at most one vector: 16->32 at 14 x 14 176
**    against 148 forward, 150 against 138 backward; rows of 28 tied
**    (1->16) or lost (16->16, 134 against 148).
**  - AVX-512, kw 3, rows of at most 8 (half a row vector): 64->64 at 8 x 8
**    125 against 78; at 16 x 16 they lost (128 against 162).
**  - AVX2 on Zen 3 (the numbers above are an AVX-512 machine running the
**    AVX2 kernels), batch 64: pair tiles where there are 16 output
**    channels or more, whole-process A/B against cv256 0.67 for Conv2d
**    1->16 forward (24 GFLOP/s in-process before: the transposes and
**    masked stores of 7-pixel tiles of only 25 taps) and 0.87 for 16->32.
** Never with fewer output channels than a vector: dL/dx of a layer with
** one input channel filled one lane of eight (AVX2 Conv2d 1->16 backward
** with dL/dx, 5.1 ms against 3.3). */
static int cvwanted(const Geo *g) {
  if (g->no < g->vl) return 0;
  if (g->kw == 5) return g->isa == 1 || g->ow <= 16;
  return g->kw == 3 && g->isa == 2 && g->ow <= 8;
}
#endif

#ifdef DIRECT_X86
/* Row-vector tiles over shifted planes (k_dshift) instead of the padded
** image, for layers of one input channel (a CNN's first) where the planes
** fit in 24 KB (3/4 of a 32 KB L1), on AVX-512: every vector is 16 pixels
** of the flattened output plane, so no lane is wasted (rows of 28 filled
** 28 of 32) and each channel's sums are stored whole, straight into its
** plane; dL/dW takes the same planes (k_direct_dwp.c's k_dw_byflat).
** Measured on Zen 4, batch 64, in-process medians of 300 calls against
** the tiles before: Conv2d 1->16 at 28 x 28 forward 413-477 against
** 506-522 us, dL/dW and dL/db 429-572 against 612-726; 1->32 at 20 x 20
** forward 435-511 against 631-649.  Where they lost: AVX2 (1->16 forward
** 1031 against 508 us, dL/dW 740 against 560: the pair and channel
** tiles), and 4->32 at 14 x 14 (forward 875-1064 against 762-827, dL/dW
** 10% slower). */
static int flatwanted(const Geo *g, int dx) {
  return !dx && g->isa == 2 && g->nc == 1 &&
         (size_t)g->kw * g->fs <= 6144 && g->oh * g->ow >= 3 * g->vl;
}
#endif

int k_direct_isa(void) {
#ifdef DIRECT_X86
  const char *e = k_sgemm_kernel();
  if (strcmp(e, "avx512") == 0) return 2;
  if (strcmp(e, "avx2") == 0) return 1;
#endif
  return 0;
}

Geo k_dgeo(const KConvShape *s, int dx) {
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
  g.cv = g.cvi = 0;
  g.fs = LINES((size_t)g.Hp * g.ow);
  g.flat = 0;
#ifdef DIRECT_X86
  g.flat = flatwanted(&g, dx);
  if (g.flat) return g;
  if (g.isa > 0 && cvwanted(&g)) {
    const int *ps = g.isa == 1 ? k_dcvp256
                    : g.kw == 3 ? k_dcvp512k3 : k_dcvp512;
    int i, best = -1;
    for (i = 0; ps[i]; i++) {          /* the least waste, then the widest */
      int waste = (g.ow + ps[i] - 1) / ps[i] * ps[i] - g.ow;
      if (best < 0 || waste < best) { best = waste; g.cv = ps[i]; g.cvi = i; }
    }
    g.mo = g.vl;
    if (g.isa == 1 && g.kw == 5 && g.no >= 16) {   /* pair tiles (CW) */
      g.cv = CWP;
      g.cvi = -1;
      g.mo = 16;
    }
  }
#endif
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

size_t k_dplane(const Geo *g) {
  if (g->flat)                 /* the shifted planes, then the padded image */
    return (size_t)g->nc * g->kw * g->fs + SLACK +
           (size_t)g->nc * g->Hp * g->Wp + SLACK;
  return (size_t)g->nc * g->Hp * g->Wp + SLACK;
}

size_t k_dconv_shared(const KConvShape *s, int dir) {
  Geo g = k_dgeo(s, dir == 1);
  if (dir == 2) return k_dw_shared(s);
  return LINES(packedsize(&g) + (size_t)g.K);    /* weights and offsets */
}

size_t k_dconv_private(const KConvShape *s, int dir) {
  Geo g = k_dgeo(s, dir == 1);
  if (dir == 2) return LINES(k_dw_private(s));
  return LINES(k_dplane(&g));
}

void k_dconv_prepare(float *shared, const float *wt, const KConvShape *s,
                     int dir) {
  Geo g = k_dgeo(s, dir == 1);
  packw(shared, wt, g.no, g.K, g.mo, dir == 1, s->C, g.kh, g.kw);
  offsets((int *)(void *)(shared + packedsize(&g)), &g);
}

/* ---- forward and dL/dx -------------------------------------------------- */

#ifdef DIRECT_X86
typedef void (*FwdFn)(int K, const int *off, const float *wp,
                      const float *const *xr, float *const *yr, size_t ys,
                      const int *n, int no, const float *b);
static const FwdFn fwd512fn[3] = {fwd512_1, fwd512_2, fwd512_3};
static const FwdFn fwd256fn[3] = {fwd256_1, fwd256_2, fwd256_3};

/* one image over shifted planes xs (k_dshift, AVX-512 only): y[no, oh,
** ow], tiles of F5MO channels by 3 vectors of the flattened output plane */
static void flattiles(const Geo *g, float *y, const float *xs,
                      const float *wp, const int *off, const float *b) {
  const int npix = g->oh * g->ow, vl = g->vl, step = 3 * vl;
  const FwdFn *fn = fwd512fn;
  const size_t ys = (size_t)npix;
  int ob, p0, r;
  for (ob = 0; ob < g->no; ob += g->mo) {
    const float *w = wp + (size_t)ob * g->K;
    const int no = g->no - ob < g->mo ? g->no - ob : g->mo;
    for (p0 = 0; p0 < npix; p0 += step) {
      const float *xr[3];
      float *yr[3];
      int n[3], rv = (npix - p0 + vl - 1) / vl;
      if (rv > 3) rv = 3;
      for (r = 0; r < rv; r++) {
        xr[r] = xs + p0 + vl * r;
        yr[r] = y + (size_t)ob * ys + p0 + vl * r;
        n[r] = npix - p0 - vl * r;
      }
      fn[rv - 1](g->K, off, w, xr, yr, ys, n, no, b ? b + ob : NULL);
    }
  }
}

/* one image: xp padded, y[no, oh, ow] */
static void tiles(const Geo *g, float *y, const float *xp, const float *wp,
                  const int *off, const float *b) {
  const int vl = g->vl, nv = (g->ow + vl - 1) / vl, rows = g->oh * nv;
  const int rvmax = g->isa == 2 ? F5RV : F2RV;
  const FwdFn *fn = g->isa == 2 ? fwd512fn : fwd256fn;
  const size_t ys = (size_t)g->oh * g->ow;
  int ob, r0, r, oy, v;
  for (ob = 0; ob < g->no; ob += g->mo) {
    const float *w = wp + (size_t)ob * g->K;
    int no = g->no - ob < g->mo ? g->no - ob : g->mo;
    for (r0 = 0, oy = 0, v = 0; r0 < rows; r0 += rvmax) {
      const float *xr[3];
      float *yr[3];
      int n[3], rv = rows - r0 < rvmax ? rows - r0 : rvmax;
      for (r = 0; r < rv; r++) {     /* row vector r0 + r: (oy, v) */
        xr[r] = xp + (size_t)oy * g->Wp + v * vl;
        yr[r] = y + (size_t)ob * ys + (size_t)oy * g->ow + v * vl;
        n[r] = g->ow - v * vl;
        if (++v == nv) { v = 0; oy++; }
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
  const size_t in = (size_t)g->nc * g->ih * g->iw;
  const size_t out = (size_t)g->no * g->oh * g->ow;
  int i;
  for (i = i0; i < i1; i++) {
    if (g->flat) {
      k_dshift(xp, x + i * in, g);
      flattiles(g, y + i * out, xp, wp, off, b);
      continue;
    }
    k_dpad(xp, x + i * in, g->nc, g->ih, g->iw, g->Hp, g->Wp, g->pt, g->pl);
    if (g->cvi < 0) k_dcwtiles(g, y + i * out, xp, wp, b);
    else if (g->cv) k_dcvtiles(g, y + i * out, xp, wp, b);
    else tiles(g, y + i * out, xp, wp, off, b);
  }
#else
  (void)g; (void)y; (void)x; (void)b; (void)shared; (void)xp; (void)i0;
  (void)i1;
#endif
}

void k_dconv_forward(float *y, const float *x, const float *b,
                     const float *shared, float *priv, const KConvShape *s,
                     int i0, int i1) {
  Geo g = k_dgeo(s, 0);
  direct(&g, y, x, b, shared, priv, i0, i1);
}

void k_dconv_backx(float *gx, const float *gy, const float *shared,
                   float *priv, const KConvShape *s, int i0, int i1) {
  Geo g = k_dgeo(s, 1);
  direct(&g, gx, gy, NULL, shared, priv, i0, i1);
}

