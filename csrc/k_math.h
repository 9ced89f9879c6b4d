/*
** k_math.h: exp that vectorizes, for the kernels that take it of whole
** rows (k_rnn.c's gates, k_loss.c's softmax).  libm's exp and expf are
** calls, one element at a time; this is Cephes' single-precision
** polynomial (S. L. Moshier, Methods and Programs for Mathematical
** Functions, 1989), about 2 ulp, in arithmetic and selects only, so GCC
** vectorizes a loop of it at -O2 where the file allows selects that may
** not trap: k_rnn.c and k_loss.c set no-trapping-math by a pragma, then
** include this (GCC inlines no function compiled under other options
** into theirs, and an exp call per element is what this avoids).  NaN stays
** NaN; x below -87 gives e^-87 (still normal), above 88 e^88; no
** conversion to an integer type (2^n is built in the exponent's bits
** from a float that holds n in its low bits).
*/
#ifndef NN_K_MATH_H
#define NN_K_MATH_H

#include <stdint.h>

typedef union { float f; uint32_t u; } KBits;

static inline float k_fexp(float x) {
  KBits z, p;
  float r, q;
  x = x < -87.0f ? -87.0f : x;           /* e^-87 is still normal */
  x = x > 88.0f ? 88.0f : x;             /* n <= 127 below */
  /* 1.5 * 2^23 + n: round(x log2 e) in the mantissa's low bits */
  z.f = x * 1.44269504088896341f + 12582912.0f;
  r = z.f - 12582912.0f;
  x = x - r * 0.693359375f;              /* x - n ln 2, in two parts */
  x = x - r * -2.12194440e-4f;
  q = ((((1.9875691500e-4f * x + 1.3981999507e-3f) * x + 8.3334519073e-3f) *
        x + 4.1665795894e-2f) * x + 1.6666665459e-1f) * x + 5.0000001201e-1f;
  q = q * x * x + x + 1.0f;
  p.u = (z.u - 0x4B400000u + 127u) << 23;        /* 2^n */
  return q * p.f;
}

#endif
