/*
** k_dense.c: forward and backward of the dense layers (softmax and
** log-softmax, dropout's mask, embedding), side by side; Linear is a
** product (dense.c).
** Plain C on float arrays; see kernels.h for shapes.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* ---- softmax and log-softmax over each row ----------------------------- */

static float rowmax(const float *x, int c) {
  float m = x[0];
  int j;
  for (j = 1; j < c; j++)
    if (x[j] > m) m = x[j];
  return m;
}

void k_softmax_forward(float *restrict y, const float *restrict x, int n,
                       int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float *yi = y + (size_t)i * c;
    float m = rowmax(xi, c);
    double s = 0;
    for (j = 0; j < c; j++) s += (yi[j] = expf(xi[j] - m));
    for (j = 0; j < c; j++) yi[j] = (float)(yi[j] / s);
  }
}

void k_softmax_backward(float *restrict gx, const float *y, const float *gy,
                        int n, int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * c, *gi = gy + (size_t)i * c;
    float *o = gx + (size_t)i * c;
    double d = 0;
    for (j = 0; j < c; j++) d += (double)gi[j] * yi[j];
    for (j = 0; j < c; j++) o[j] = yi[j] * (gi[j] - (float)d);
  }
}

void k_logsoftmax_forward(float *restrict y, const float *restrict x, int n,
                          int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float *yi = y + (size_t)i * c;
    float m = rowmax(xi, c), lse;
    double s = 0;
    for (j = 0; j < c; j++) s += expf(xi[j] - m);
    lse = m + (float)log(s);
    for (j = 0; j < c; j++) yi[j] = xi[j] - lse;
  }
}

void k_logsoftmax_backward(float *restrict gx, const float *y,
                           const float *gy, int n, int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * c, *gi = gy + (size_t)i * c;
    float *o = gx + (size_t)i * c;
    double s = 0;
    for (j = 0; j < c; j++) s += gi[j];
    for (j = 0; j < c; j++) o[j] = gi[j] - expf(yi[j]) * (float)s;
  }
}

/* ---- dropout ---------------------------------------------------------- */

void k_dropout_mask(Rng *r, float *mask, size_t n, float p) {
  size_t i;
  float keep = 1.0f / (1.0f - p);
  for (i = 0; i < n; i++) mask[i] = k_rng_uniform(r) < p ? 0.0f : keep;
}

/* ---- Embedding: a lookup table of rows --------------------------------- */

void k_embedding_forward(float *restrict y, const float *restrict w,
                         const float *restrict ids, size_t m, int D) {
  size_t k;
  for (k = 0; k < m; k++)
    memcpy(y + k * D, w + ((size_t)ids[k] - 1) * D, (size_t)D * sizeof *y);
}

void k_embedding_backward(float *restrict gw, const float *restrict gy,
                          const float *restrict ids, size_t m, int D,
                          int skip) {
  size_t k;
  for (k = 0; k < m; k++) {
    int id = (int)ids[k];
    float *row = gw + ((size_t)id - 1) * D;
    const float *g = gy + k * D;
    if (id == skip) continue;
    K_FOR(j, D, row[j] += g[j]);
  }
}

void k_embedding_renorm(float *w, const float *ids, size_t m, int D,
                        float maxnorm, float p) {
  size_t k;
  int j;
  for (k = 0; k < m; k++) {
    float *row = w + ((size_t)ids[k] - 1) * D;
    double norm = 0;
    if (isinf(p)) {
      for (j = 0; j < D; j++)
        if (fabs(row[j]) > norm) norm = fabs(row[j]);
    } else {
      for (j = 0; j < D; j++) norm += pow(fabs(row[j]), p);
      norm = pow(norm, 1.0 / p);
    }
    if (norm > maxnorm) {
      float scale = (float)(maxnorm / (norm + 1e-7));
      for (j = 0; j < D; j++) row[j] *= scale;
    }
  }
}
