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
**
** Every sum runs in one fixed order (forward and dL/dx: taps in order;
** dL/dW: images, then pixels in order, from 0), whatever the caller
** splits among threads: callers that split images (forward, dL/dx) or
** tiles of dL/dW get the same bits on any number of threads.
**
** The kernels are chosen as k_gemm.c's (NN_GEMM=portable or avx2 holds
** the choice down); k_direct_isa says which.  No allocation: the caller
** gives the scratch, sized by the functions below.  dL/dW and dL/db are
** in k_direct_dw.c, and what both files share in k_direct.h.
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
  return (size_t)g->nc * g->Hp * g->Wp + SLACK;
}

/* both in whole lines of 16 floats: a part that starts on a line leaves
** the next on one too */
#define LINES(n) (((n) + 15) / 16 * 16)

size_t k_dconv_shared(const KConvShape *s, int dir) {
  Geo g = k_dgeo(s, dir == 1);
  if (dir == 2) return LINES(k_dw_shared(s));
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
    k_dpad(xp, x + i * in, g->nc, g->ih, g->iw, g->Hp, g->Wp, g->pt, g->pl);
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
  Geo g = k_dgeo(s, 0);
  direct(&g, y, x, b, shared, priv, i0, i1);
}

void k_dconv_backx(float *gx, const float *gy, const float *shared,
                   float *priv, const KConvShape *s, int i0, int i1) {
  Geo g = k_dgeo(s, 1);
  direct(&g, gx, gy, NULL, shared, priv, i0, i1);
}

