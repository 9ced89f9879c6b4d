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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(NN_GEMM_PORTABLE)
#define DIRECT_X86 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/* the first n lanes of 16 (a mask register) or 8 (a vector for maskload
** and maskstore), n from below 0 to above the width */
INLINE AVX512 __mmask16 lanes16(int n) {
  return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}
/* a float broadcast from memory, as _mm256_broadcast_ss takes it */
#define BC512(p) _mm512_set1_ps(*(p))
INLINE AVX2 __m256i lanes8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* the first n < 8 floats of v to p, 4, 2, 1 at a time: a masked store
** (vmaskmovps) is slow on AMD */
INLINE AVX2 void storen(float *p, __m256 v, int n) {
  __m128 h = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, h);
    p += 4;
    h = _mm256_extractf128_ps(v, 1);
  }
  if (n & 2) {
    _mm_storel_pi((__m64 *)(void *)p, h);
    p += 2;
    h = _mm_movehl_ps(h, h);
  }
  if (n & 1) _mm_store_ss(p, h);
}
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
} Geo;

/* forward and dL/dW (dx 0), or dL/dx (dx 1) */
Geo k_dgeo(const KConvShape *s, int dx);
/* floats of one image's padded planes, SLACK included */
size_t k_dplane(const Geo *g);
/* One image x[C, H, W] into xp[C, Hp, Wp] at row pt, column pl, zeros
** around, and SLACK zeros after */
void k_dpad(float *restrict xp, const float *restrict x, int C, int H, int W,
            int Hp, int Wp, int pt, int pl);
/* dL/dW's scratch floats (k_direct_dw.c): shared by the parts, and each
** part's own */
size_t k_dw_shared(const KConvShape *s);
size_t k_dw_private(const KConvShape *s);

#endif
