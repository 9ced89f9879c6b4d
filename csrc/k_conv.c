/*
** k_conv.c: 2-D convolution and pooling on images in (C, H, W) order, one
** image per row of a batch.  Plain C on float arrays; see kernels.h.
**
** Convolution is im2col + GEMM (Chellapilla et al. 2006, the way Caffe
** and PyTorch's CPU path do it): the receptive fields of one image are
** unrolled into the columns of a K x P matrix (K = C kh kw, P = OH OW),
** and the layer is then one sgemm per image, Y = W cols + b.  The
** backward pass is the same two products transposed and col2im, the
** adjoint of im2col.  k_direct.c does stride 1 without the K x P matrix
** where the CPU has AVX2 or AVX-512; this file does every other case.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* Bounds.  The binding (image.c) guarantees, for rows and the same for
** columns (W, kw, sw, pw, dw, OW):
**   (1) every size >= 1, ph >= 0, and kh, sh, ph, dh <= 65535;
**   (2) e = dh (kh - 1) + 1 <= H + 2 ph <= INT_MAX (the kernel fits the
**       padded image, which fits an int);
**   (3) OH = (H + 2 ph - e) / sh + 1, so 1 <= OH and (OH - 1) sh <= H +
**       2 ph - e;
**   (4) n C H W and n O OH OW <= INT_MAX (the matrices' element counts);
**       for convolution O C (kh kw + 1) <= INT_MAX (the weight and bias),
**       so K = C kh kw fits an int;
**   (5) for pooling 2 ph <= kh, and average pooling has dh = 1.
** Then the tap of output row oy and kernel row ki, iy = oy sh - ph + ki dh,
** lies in -ph .. H + ph - 1 by (3) and ki dh <= e - 1, with no int
** overflow by (2); only taps in 0..H-1 are read.  The same holds for
** columns, ix = ox sw + x0 with x0 = kj dw - pw.  A row of cols is (c, ki,
** kj) < K, a column (oy, ox) < OH OW <= ld. */

/* the input row of output row oy and kernel row ki, or -1 in the padding */
static int inrow(int oy, int ki, const KWindow *w, int H) {
  int iy = oy * w->sh - w->ph + ki * w->dh;
  return iy >= 0 && iy < H ? iy : -1;
}

void k_im2col(float *restrict cols, size_t ld, const float *restrict x, int C,
              int H, int W, const KWindow *w, int OH, int OW) {
  int c, ki, kj, oy, ox;
  for (c = 0; c < C; c++)
    for (ki = 0; ki < w->kh; ki++)
      for (kj = 0; kj < w->kw; kj++) {
        float *r = cols + ((size_t)(c * w->kh + ki) * w->kw + kj) * ld;
        for (oy = 0; oy < OH; oy++, r += OW) {
          int iy = inrow(oy, ki, w, H);
          const float *xr;
          int x0 = kj * w->dw - w->pw;
          if (iy < 0) {
            memset(r, 0, OW * sizeof *r);
            continue;
          }
          xr = x + ((size_t)c * H + iy) * W;
          if (w->sw == 1) {               /* zeros, a run of x, zeros */
            /* column ox reads x at ox + x0, inside for lo <= ox < hi;
            ** both clamped to 0..OW, as a kernel wider than the image
            ** and one side's padding puts the run past either end */
            int lo = x0 < 0 ? -x0 : 0, hi = W - x0;
            if (lo > OW) lo = OW;
            if (hi > OW) hi = OW;
            if (hi < lo) hi = lo;
            memset(r, 0, lo * sizeof *r);
            if (hi > lo) memcpy(r + lo, xr + x0 + lo, (hi - lo) * sizeof *r);
            memset(r + hi, 0, (OW - hi) * sizeof *r);
          } else {
            for (ox = 0; ox < OW; ox++) {
              int ix = ox * w->sw + x0;
              r[ox] = ix >= 0 && ix < W ? xr[ix] : 0.0f;
            }
          }
        }
      }
}

void k_col2im(float *restrict x, const float *restrict cols, size_t ld,
              int C, int H, int W, const KWindow *w, int OH, int OW) {
  int c, ki, kj, oy, ox;
  memset(x, 0, (size_t)C * H * W * sizeof *x);
  for (c = 0; c < C; c++)
    for (ki = 0; ki < w->kh; ki++)
      for (kj = 0; kj < w->kw; kj++) {
        const float *r = cols + ((size_t)(c * w->kh + ki) * w->kw + kj) * ld;
        for (oy = 0; oy < OH; oy++, r += OW) {
          int iy = inrow(oy, ki, w, H);
          float *xr;
          int x0 = kj * w->dw - w->pw;
          if (iy < 0) continue;
          xr = x + ((size_t)c * H + iy) * W;
          for (ox = 0; ox < OW; ox++) {
            int ix = ox * w->sw + x0;
            if (ix >= 0 && ix < W) xr[ix] += r[ox];
          }
        }
      }
}

/* One image at a time: its cols (K x P) stay in cache, and the GEMM
** writes the image's output in place.  The products are the own SGEMM's
** (k_gemm.c) in either build: per image they are small, where it is the
** faster, and it runs on whichever thread the layer's part runs on.
** The parts: images i0 .. i1 - 1 for forward and dL/dx; for dL/dW the
** kernel's input channels c0 .. c1 - 1 (the columns of gw, and the rows
** of cols, they own) over every image, so that each sum runs in the same
** order however the channels are split. */
void k_conv2d_forward(float *restrict y, const float *restrict x,
                      const float *wt, const float *b, float *cols, int i0,
                      int i1, int C, int H, int W, int O, const KWindow *w,
                      int OH, int OW) {
  int K = C * w->kh * w->kw, P = OH * OW, i, o;
  size_t in = (size_t)C * H * W, out = (size_t)O * P;
  for (i = i0; i < i1; i++) {
    float *yi = y + i * out;
    k_im2col(cols, (size_t)P, x + i * in, C, H, W, w, OH, OW);
    k_sgemm(0, 0, O, P, K, 1.0f, wt, K, cols, P, 0.0f, yi, P);
    if (b)
      for (o = 0; o < O; o++) {
        float *yo = yi + (size_t)o * P, bo = b[o];
        K_FOR(p, P, yo[p] += bo);
      }
  }
}

void k_conv2d_backx(float *gx, const float *wt, const float *restrict gy,
                    float *cols, int i0, int i1, int C, int H, int W, int O,
                    const KWindow *w, int OH, int OW) {
  int K = C * w->kh * w->kw, P = OH * OW, i;
  size_t in = (size_t)C * H * W, out = (size_t)O * P;
  for (i = i0; i < i1; i++) {
    /* dL/dcols = W^T gy, then back to the image */
    k_sgemm(1, 0, K, P, O, 1.0f, wt, K, gy + i * out, P, 0.0f, cols, P);
    k_col2im(gx + i * in, cols, (size_t)P, C, H, W, w, OH, OW);
  }
}

void k_conv2d_backw(float *gw, const float *restrict x,
                    const float *restrict gy, float *cols, int n, int c0,
                    int c1, int C, int H, int W, int O, const KWindow *w,
                    int OH, int OW) {
  int khw = w->kh * w->kw, K = C * khw, P = OH * OW, i;
  size_t in = (size_t)C * H * W, out = (size_t)O * P;
  for (i = 0; i < n; i++) {
    /* dL/dW = gy cols^T, the columns of these channels */
    k_im2col(cols, (size_t)P, x + i * in + (size_t)c0 * H * W, c1 - c0, H, W,
             w, OH, OW);
    k_sgemm(0, 1, O, (c1 - c0) * khw, P, 1.0f, gy + i * out, P, cols, P, 1.0f,
            gw + (size_t)c0 * khw, K);
  }
}

/* ---- pooling ------------------------------------------------------------ */

/* The window of output (oy, ox) clipped to the image: rows y0..y1-1, step
** d.  From lo = o s - p >= -p and hi = lo + e <= H + p, lo moves up to the
** first tap at or past 0 (at most p / d + 1 steps) and hi down to H, so
** every tap read is inside the image.  With dilation a window may hold no
** tap at all (y0 >= y1: a 2-tap window with dilation 2 on a 1-pixel image
** with padding 1); without, it always holds one, as lo <= H + p - e < H
** and hi >= k - p >= 1 by (5). */
static void clip(int o, int s, int p, int k, int d, int H, int *a, int *b) {
  int lo = o * s - p, hi = lo + (k - 1) * d + 1;
  while (lo < 0) lo += d;
  if (hi > H) hi = H;
  *a = lo;
  *b = hi;
}

/* Max pooling keeps no indices: forward is a plain maximum, which GCC
** makes branch-free (maxss), and backward finds each window's maximum
** again.  Which element of a window is the largest is a coin toss a branch
** predictor loses half the time: a forward that tracked the index took 3.1
** ms for a batch of 64 16x28x28 images, the plain maximum 0.4 ms.  NaN
** wins, as in PyTorch: a window holding one gives NaN, and its gradient
** goes to the last NaN (PyTorch's CPU kernel takes every NaN it meets as
** the new maximum); otherwise to the first element equal to the maximum
** (its `val > maxval` keeps the first of ties, infinities included).  A
** window with no tap in the image gives -inf and passes no gradient
** (PyTorch 1.13 gives -inf too, but its index then names the first tap
** past the row, and its backward adds the gradient to that element of the
** next row, or drops it in the last). */
static float windowmax(const float *xc, int W, int y0, int y1, int x0,
                       int x1, int dh, int dw) {
  float m = -INFINITY;
  int iy, ix, nan = 0;
  for (iy = y0; iy < y1; iy += dh)
    for (ix = x0; ix < x1; ix += dw) {
      float v = xc[(size_t)iy * W + ix];
      nan |= v != v;
      m = v > m ? v : m;
    }
  return nan ? NAN : m;
}

/* the window k_maxpool22_* take: 2 x 2, stride 2, no padding */
static int is22(const KWindow *w) {
  return w->kh == 2 && w->kw == 2 && w->sh == 2 && w->sw == 2 && w->ph == 0 &&
         w->pw == 0 && w->dh == 1 && w->dw == 1;
}

void k_maxpool2d_forward(float *restrict y, const float *restrict x, int n,
                         int C, int H, int W, const KWindow *w, int OH,
                         int OW) {
  size_t plane = (size_t)H * W;
  int c, oy, ox;
  if (is22(w) && k_maxpool22_forward(y, x, n * C, H, W)) return;
  for (c = 0; c < n * C; c++) {
    const float *xc = x + (size_t)c * plane;
    for (oy = 0; oy < OH; oy++) {
      int y0, y1;
      clip(oy, w->sh, w->ph, w->kh, w->dh, H, &y0, &y1);
      for (ox = 0; ox < OW; ox++) {
        int x0, x1;
        clip(ox, w->sw, w->pw, w->kw, w->dw, W, &x0, &x1);
        *y++ = windowmax(xc, W, y0, y1, x0, x1, w->dh, w->dw);
      }
    }
  }
}

/* where windowmax found m: the offset of the last NaN if m is NaN, else
** of the first element equal to m; NONE if there is none (an empty window,
** or x changed since forward) */
#define NONE ((size_t)-1)
static size_t argmax(const float *xc, int W, int y0, int y1, int x0, int x1,
                     int dh, int dw, float m) {
  size_t at = NONE;
  int iy, ix;
  for (iy = y0; iy < y1; iy += dh)
    for (ix = x0; ix < x1; ix += dw) {
      float v = xc[(size_t)iy * W + ix];
      if (m != m ? v != v : v == m) {
        at = (size_t)iy * W + ix;
        if (m == m) return at;
      }
    }
  return at;
}

void k_maxpool2d_backward(float *restrict gx, const float *restrict x,
                          const float *restrict y, const float *restrict gy,
                          int n, int C, int H, int W, const KWindow *w,
                          int OH, int OW) {
  size_t plane = (size_t)H * W;
  int c, oy, ox;
  if (is22(w) && k_maxpool22_backward(gx, x, y, gy, n * C, H, W)) return;
  memset(gx, 0, (size_t)n * C * plane * sizeof *gx);
  for (c = 0; c < n * C; c++) {
    const float *xc = x + (size_t)c * plane;
    float *gc = gx + (size_t)c * plane;
    for (oy = 0; oy < OH; oy++) {
      int y0, y1;
      clip(oy, w->sh, w->ph, w->kh, w->dh, H, &y0, &y1);
      for (ox = 0; ox < OW; ox++) {
        int x0, x1;
        float g = *gy++;
        size_t at;
        clip(ox, w->sw, w->pw, w->kw, w->dw, W, &x0, &x1);
        at = argmax(xc, W, y0, y1, x0, x1, w->dh, w->dw, *y++);
        if (at != NONE) gc[at] += g;  /* always, unless x changed since */
      }
    }
  }
}

/* the divisor of output (oy, ox): the whole window, padding included, or
** only the elements inside the image (at least one: dh = dw = 1, see
** clip); a float, as kh kw may pass INT_MAX (65535 x 65535) */
static float divisor(const KWindow *w, int y0, int y1, int x0, int x1,
                     int inpad) {
  if (inpad) return (float)w->kh * (float)w->kw;
  return (float)((y1 - y0 + w->dh - 1) / w->dh) *
         (float)((x1 - x0 + w->dw - 1) / w->dw);
}

void k_avgpool2d_forward(float *restrict y, const float *restrict x, int n,
                         int C, int H, int W, const KWindow *w, int OH,
                         int OW, int inpad) {
  size_t plane = (size_t)H * W;
  int i, c, oy, ox, iy, ix;
  for (i = 0; i < n; i++)
    for (c = 0; c < C; c++) {
      const float *xc = x + ((size_t)i * C + c) * plane;
      for (oy = 0; oy < OH; oy++) {
        int y0, y1;
        clip(oy, w->sh, w->ph, w->kh, w->dh, H, &y0, &y1);
        for (ox = 0; ox < OW; ox++) {
          int x0, x1;
          float s = 0;
          clip(ox, w->sw, w->pw, w->kw, w->dw, W, &x0, &x1);
          for (iy = y0; iy < y1; iy += w->dh)
            for (ix = x0; ix < x1; ix += w->dw) s += xc[(size_t)iy * W + ix];
          *y++ = s / divisor(w, y0, y1, x0, x1, inpad);
        }
      }
    }
}

void k_avgpool2d_backward(float *restrict gx, const float *restrict gy,
                          int n, int C, int H, int W, const KWindow *w,
                          int OH, int OW, int inpad) {
  size_t plane = (size_t)H * W;
  int i, c, oy, ox, iy, ix;
  memset(gx, 0, (size_t)n * C * plane * sizeof *gx);
  for (i = 0; i < n; i++)
    for (c = 0; c < C; c++) {
      float *gc = gx + ((size_t)i * C + c) * plane;
      for (oy = 0; oy < OH; oy++) {
        int y0, y1;
        clip(oy, w->sh, w->ph, w->kh, w->dh, H, &y0, &y1);
        for (ox = 0; ox < OW; ox++) {
          int x0, x1;
          float g;
          clip(ox, w->sw, w->pw, w->kw, w->dw, W, &x0, &x1);
          g = *gy++ / divisor(w, y0, y1, x0, x1, inpad);
          for (iy = y0; iy < y1; iy += w->dh)
            for (ix = x0; ix < x1; ix += w->dw) gc[(size_t)iy * W + ix] += g;
        }
      }
    }
}
