/*
** k_x86.h: what the x86-64 kernels share (k_gemm_kernels.c, k_direct.c,
** k_direct_dw.c, k_pool22.c): the target attributes that compile a
** function for AVX2+FMA or AVX-512 alone, and the small vector helpers.
** Included only where GCC or Clang builds for x86-64 (GEMM_X86,
** DIRECT_X86): the functions run only where the CPU has the set.
*/
#ifndef NN_K_X86_H
#define NN_K_X86_H

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/* the first n lanes of 16 (a mask register) or 8 (a vector for maskload
** and maskstore), n from below 0 to above the width */
INLINE AVX512 __mmask16 lanes16(int n) {
  return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}
INLINE AVX2 __m256i lanes8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* the first n < 8 floats of v to p, 4, 2, 1 at a time: a masked store
** (vmaskmovps) is slow on AMD.  A masked load is not, and reads no lane
** past the mask, so loads stay _mm256_maskload_ps. */
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

/* the first n floats of v to p, n from below 0 to above 8 */
INLINE AVX2 void store8n(float *p, __m256 v, int n) {
  if (n >= 8) _mm256_storeu_ps(p, v);
  else if (n > 0) storen(p, v, n);
}

#endif
