/*
** k_typed.c: numbers stored in other types, to float: the element types of
** NumPy's .npy files and safetensors (integers, float16, bfloat16,
** float32 and float64, either byte order), and unsigned bytes (pixels) to
** and from float.  Plain C; see kernels.h.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* element i of s (w bytes, big-endian if big) as an unsigned integer */
static uint64_t word(const unsigned char *s, int w, int big) {
  uint64_t v = 0;
  int k;
  if (big)
    for (k = 0; k < w; k++) v = v << 8 | s[k];
  else
    for (k = w - 1; k >= 0; k--) v = v << 8 | s[k];
  return v;
}

/* IEEE 754 half precision (Kahan's layout: 1, 5, 10) to float */
static float half(unsigned h) {
  unsigned e = (h >> 10) & 31, m = h & 1023;
  float v;
  if (e == 0) v = ldexpf((float)m, -24);                  /* subnormal */
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexpf((float)(m | 1024), (int)e - 25);
  return h & 0x8000 ? -v : v;
}

void k_fromtyped(float *restrict y, const unsigned char *restrict s,
                 size_t n, int kind, int w, int big) {
  size_t i;
  for (i = 0; i < n; i++, s += w) {
    uint64_t v = word(s, w, big);
    switch (kind) {
    case K_FLOAT:
      if (w == 2) {
        y[i] = half((unsigned)v);
      } else if (w == 4) {
        uint32_t u = (uint32_t)v;
        memcpy(&y[i], &u, 4);
      } else {
        double d;
        memcpy(&d, &v, 8);
        y[i] = (float)d;
      }
      break;
    case K_BFLOAT: {                /* the top half of a float32 */
      uint32_t u = (uint32_t)v << 16;
      memcpy(&y[i], &u, 4);
      break;
    }
    case K_INT:                     /* sign-extend from w bytes */
      if (w < 8 && (v >> (8 * w - 1) & 1)) v |= ~(uint64_t)0 << (8 * w);
      y[i] = (float)(int64_t)v;
      break;
    default:
      y[i] = (float)v;
    }
  }
}

void k_frombytes(float *restrict y, const unsigned char *restrict s, size_t n,
                 float scale) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = s[i] * scale;
}

void k_tobytes8(unsigned char *restrict y, const float *restrict x, size_t n,
                float lo, float hi) {
  const float s = 255.0f / (hi - lo);
  size_t i;
  for (i = 0; i < n; i++) {
    float v = (x[i] - lo) * s + 0.5f;
    v = v > 0 ? v : 0;                   /* NaN compares false: 0 */
    v = v < 255 ? v : 255;
    y[i] = (unsigned char)v;
  }
}
