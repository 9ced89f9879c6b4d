/*
** k_direct.h: what the direct convolution kernels share between
** k_direct.c (the geometry, forward and dL/dx) and k_direct_dw.c (dL/dW):
** the instruction-set attributes, the geometry of one product, and the
** padded copy of an image.  Not part of kernels.h: nothing else needs it.
*/
#ifndef NN_K_DIRECT_H
#define NN_K_DIRECT_H

#include <stddef.h>

#include "kernels.h"

enum { SLACK = 64 };                 /* floats past a plane's end */

/* n floats in whole lines of 16: a part of the scratch that starts on a
** line leaves the next on one too */
#define LINES(n) (((n) + 15) / 16 * 16)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(NN_GEMM_PORTABLE)
#define DIRECT_X86 1
#include "k_x86.h"

/* n floats from p on toward L1: the next image, while this one is worked
** on (its rows came from L3 or memory, gy having passed through L2) */
static inline void prefetch(const float *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i += 16) _mm_prefetch((const char *)(p + i), _MM_HINT_T0);
}

/* a float broadcast from memory, as _mm256_broadcast_ss takes it */
#define BC512(p) _mm512_set1_ps(*(p))
#endif

/* One direct product in either direction: nc input channels of ih x iw,
** placed at row pt, column pl of planes Hp x Wp; no output channels of oh
** x ow; kh x kw taps, K = nc kh kw of them; vl floats a vector, mo output
** channels a forward tile */
typedef struct Geo {
  int isa, vl, mo;
  int nc, ih, iw, pt, pl, Hp, Wp;
  int no, oh, ow, kh, kw, K;
  int cv, cvi;               /* channel-vector tiles' width (0: row-vector
                                tiles), its kernels' index */
  int flat;                  /* forward over shifted planes (k_dshift) */
  size_t fs;                 /* floats a shifted plane, whole lines */
} Geo;

/* forward and dL/dW (dx 0), or dL/dx (dx 1) */
Geo k_dgeo(const KConvShape *s, int dx);
#ifdef DIRECT_X86
/* k_direct_cv.c: the pixels a pair tile takes; the channel-vector tiles'
** widths, widest first, 0 after the last (kw 5 on AVX-512, kw 3 there,
** AVX2); one image x padded in xp by channel-vector tiles (g->cv) or by
** pair tiles (g->cvi < 0) into y[no, oh, ow], wp packed by k_dconv_prepare
** with g->mo, b the bias or NULL */
enum { CWP = 6 };
extern const int k_dcvp512[], k_dcvp512k3[], k_dcvp256[];
void k_dcvtiles(const Geo *g, float *y, const float *xp, const float *wp,
                const float *b);
void k_dcwtiles(const Geo *g, float *y, const float *xp, const float *wp,
                const float *b);
#endif

/* floats of one image's padded planes, SLACK included */
size_t k_dplane(const Geo *g);
/* One image x[C, H, W] into xp[C, Hp, Wp] at row pt, column pl, zeros
** around, and SLACK zeros after */
void k_dpad(float *restrict xp, const float *restrict x, int C, int H, int W,
            int Hp, int Wp, int pt, int pl);
/* One image x[C, H, W] as C kw shifted planes of Hp x ow, plane (c, j)
** at xs + (c kw + j) fs holding the padded image's columns j .. j + ow -
** 1: the input of tap (c, ki, j) at output pixel p (flat, p = oy ow + ox)
** is xs[(c kw + j) fs + ki ow + p].  Zeros around, and SLACK after.
** AVX-512 only, where flat geometries are chosen. */
#ifdef DIRECT_X86
AVX512 void k_dshift(float *restrict xs, const float *restrict x,
                     const Geo *g);
#endif
/* dL/dW's scratch floats (k_direct_dw.c): shared by the parts, and each
** part's own */
size_t k_dw_shared(const KConvShape *s);
size_t k_dw_private(const KConvShape *s);

/* ---- dL/dW: what k_direct_dw.c (the tiling, the chunks, the channel
** tiles) shares with k_direct_dwp.c (the pixel tiles) ---------------- */

/* channels a tile: MP KW sums within 21 of AVX-512's 32 registers, 12 of
** AVX2's 16 (MP of gy and one x beside them), 1 to 4 */
#define DWPCH(acc, KW) \
  ((acc) / (KW) > 4 ? 4 : (acc) / (KW) < 1 ? 1 : (acc) / (KW))

/* How dL/dW is tiled.  By channel vectors (pix 0): kernel rows (c, ki) in
** groups of rows, by groups of nov channel vectors, nrt x nog tiles.  By
** pixel vectors (pix 1), where one channel vector (or an odd number)
** would leave the channel tiles loading once per FMA and the output rows
** fill at least 3/4 of the padded rows (28 of 32 for 5 x 5 taps): a
** kernel row by mp channels, nrt = C kh by nog tiles; per floats of sums
** a tile, nvec flat vectors of plane floats a gy plane.  By pixel vectors
** over shifted planes (pix and flat 1) where the forward takes them
** (k_direct.c's flatwanted): the same tiles, on gy where it lies. */
typedef struct Wt {
  int pix, flat, rows, nov, mp, nrt, nog, per, nvec;
  size_t plane;
} Wt;

/* What a part of dL/dW does: its tiles t0 .. t1 - 1 (sums), its
** channels o0 .. o1 - 1 of dL/db (db, or NULL), over images i0 .. i1 - 1,
** each from zero: each image's gy is read once while it is in cache. */
typedef struct DwPart {
  float *sums, *db, *priv;
  const float *x, *gy;
  int i0, i1, t0, t1, o0, o1;
} DwPart;

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

#ifdef DIRECT_X86
/* db[o] += the sum of gy's plane o over its P pixels, o0 <= o < o1 */
AVX2 void k_dw_planesums(float *gb, const float *gy, int P, int o0, int o1);
/* a part's pixel tiles over padded rows, or over shifted planes */
void k_dw_bypixels(const Geo *g, const Wt *w, const KConvShape *s,
                   const DwPart *d);
void k_dw_byflat(const Geo *g, const Wt *w, const KConvShape *s,
                 const DwPart *d);
#endif

#endif
