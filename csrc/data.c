/*
** data.c: what training loops, data loaders and model files need from C:
** reading (optionally gzipped) files through zlib, gathering rows into
** batches, counting correct predictions, one-hot targets, raw float32
** bytes, CRC-32, atomic file writes, a monotonic clock, and whether a
** stream is a terminal.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "nn.h"

#define CHUNK (1 << 17)

/* Opens path through zlib; on failure pushes nil, message and returns NULL */
static gzFile gzopenfail(lua_State *L, const char *path) {
  gzFile f;
  errno = 0;
  f = gzopen(path, "rb");
  if (!f) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot open %s: %s", path,
                    errno ? strerror(errno) : "out of memory");
    return NULL;
  }
  gzbuffer(f, CHUNK);
  return f;
}

/* After a read that returned n: 0 if fine, else pushes nil, message,
** closes f and returns 2.  A short gzip stream surfaces at gzclose. */
static int gzfail(lua_State *L, gzFile f, int n, const char *path) {
  int err = Z_OK;
  const char *msg = n < 0 ? gzerror(f, &err) : NULL;
  if (msg) lua_pushfstring(L, "%s is corrupt or unreadable (%s)", path, msg);
  err = gzclose(f);
  if (!msg && err == Z_OK) return 0;
  if (!msg)
    lua_pushfstring(L, "%s is truncated or corrupt (zlib error %d)", path,
                    err);
  luaL_pushfail(L);
  lua_insert(L, -2);
  return 2;
}

/* nn.core.readfile(path [, max]) -> the file's bytes (at most max),
** gunzipped if it is gzip (zlib reads plain files as they are); nil,
** message on failure */
static int d_readfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, LUA_MAXINTEGER);
  luaL_Buffer b;
  gzFile f;
  int n = 0, r;
  if (max < 0) return luaL_argerror(L, 2, "must be >= 0");
  if (!(f = gzopenfail(L, path))) return 2;
  luaL_buffinit(L, &b);
  while (max > 0) {
    int want = max < CHUNK ? (int)max : CHUNK;
    char *p = luaL_prepbuffsize(&b, (size_t)want);
    n = gzread(f, p, (unsigned)want);
    if (n <= 0) break;
    luaL_addsize(&b, (size_t)n);
    max -= n;
  }
  if (max > 0 || n < 0) {               /* read to the end: check it */
    if ((r = gzfail(L, f, n, path)) != 0) return r;
  } else {
    gzclose(f);
  }
  luaL_pushresult(&b);
  return 1;
}

/* Matrix.fromfile(path, rows, cols [, offset [, scale]]): like frombytes
** on the file's bytes (gunzipped), streamed, with no string in between.
** The file must hold exactly offset + rows*cols bytes. */
static int d_fromfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int r = nn_checkdim(L, 2, "Matrix.fromfile", "rows");
  int c = nn_checkdim(L, 3, "Matrix.fromfile", "cols");
  lua_Integer off = luaL_optinteger(L, 4, 0);
  float scale = (float)luaL_optnumber(L, 5, 1);
  unsigned char *buf;
  size_t need, done = 0;
  gzFile f;
  Matrix *m;
  int n = 0, k;
  nn_checkcount(L, "Matrix.fromfile", r, c);
  if (off < 0) return luaL_error(L, "Matrix.fromfile: offset must be >= 0");
  need = (size_t)r * (size_t)c;
  m = nn_newmatrix(L, r, c);                                  /* at 6 */
  buf = (unsigned char *)lua_newuserdatauv(L, CHUNK, 0);      /* at 7 */
  if (!(f = gzopenfail(L, path))) return 2;
  while (off > 0) {                                     /* skip the header */
    n = gzread(f, buf, (unsigned)(off < CHUNK ? off : CHUNK));
    if (n <= 0) break;
    off -= n;
  }
  while (off == 0 && done < need) {
    size_t want = need - done < CHUNK ? need - done : CHUNK;
    n = gzread(f, buf, (unsigned)want);
    if (n <= 0) break;
    k_frombytes(m->data + done, buf, (size_t)n, scale);
    done += (size_t)n;
  }
  if (n >= 0 && done == need) n = gzread(f, buf, 1);  /* must be the end */
  if ((k = gzfail(L, f, n, path)) != 0) return k;
  if (done < need || n > 0)
    return luaL_error(L, "Matrix.fromfile: %s holds %s bytes of data, "
                      "expected %I (%d x %d)", path,
                      done < need ? "fewer" : "more", (lua_Integer)need, r, c);
  lua_settop(L, 6);
  return 1;
}

/* dst:gather(src, idx, first, n): row k of dst (k = 1..n) is row
** idx[first + k - 1] of src; idx is a Lua list of 1-based row numbers. */
static int d_gather(lua_State *L) {
  Matrix *dst = nn_checkmatrix(L, 1), *src = nn_checkmatrix(L, 2);
  lua_Integer first = luaL_checkinteger(L, 4);
  int n = nn_checkdim(L, 5, "Matrix:gather", "n"), k;
  luaL_checktype(L, 3, LUA_TTABLE);
  if (dst->cols != src->cols)
    return luaL_error(L, "Matrix:gather: source has %d columns, destination "
                      "%d", src->cols, dst->cols);
  if (dst->rows != n)
    return luaL_error(L, "Matrix:gather: destination has %d rows, expected "
                      "%d", dst->rows, n);
  if (nn_overlaps(dst, src))
    return luaL_error(L, "Matrix:gather: source and destination overlap");
  for (k = 0; k < n; k++) {
    int isint;
    lua_Integer i;
    lua_rawgeti(L, 3, first + k);
    i = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (!isint || i < 1 || i > src->rows)
      return luaL_error(L, "Matrix:gather: index %I is not a row of the "
                        "source (1..%d)", first + k, src->rows);
    memcpy(dst->data + (size_t)k * dst->cols,
           src->data + (size_t)(i - 1) * src->cols,
           (size_t)src->cols * sizeof(float));
  }
  lua_settop(L, 1);
  return 1;
}

/* nn.core.correct(out, Y) -> how many rows of out (n x C) have their
** largest entry at the class in Y: n x 1 labels, or n x C one-hot rows */
static int d_correct(lua_State *L) {
  Matrix *out = nn_checkmatrix(L, 1), *y = nn_checkmatrix(L, 2);
  int i, hits = 0, c = out->cols;
  if (y->rows != out->rows || (y->cols != 1 && y->cols != c))
    return luaL_error(L, "nn.correct: targets are %d x %d, expected %d x 1 "
                      "or %d x %d", y->rows, y->cols, out->rows, out->rows, c);
  for (i = 0; i < out->rows; i++) {
    size_t p = k_argmax(out->data + (size_t)i * c, (size_t)c);
    size_t t = y->cols == 1 ? (size_t)y->data[i] - 1
               : k_argmax(y->data + (size_t)i * c, (size_t)c);
    hits += p == t && (y->cols != 1 || y->data[i] >= 1);
  }
  lua_pushinteger(L, hits);
  return 1;
}

/* nn.onehot(labels, C) -> n x C with a 1 at each row's class */
static int d_onehot(lua_State *L) {
  Matrix *y = nn_checkmatrix(L, 1), *o;
  int c = nn_checkdim(L, 2, "nn.onehot", "C"), i;
  if (y->cols != 1)
    return luaL_error(L, "nn.onehot: labels must be n x 1, got %d x %d",
                      y->rows, y->cols);
  nn_checkcount(L, "nn.onehot", y->rows, c);
  o = nn_newzeros(L, y->rows, c);
  for (i = 0; i < y->rows; i++) {
    float v = y->data[i];
    if (!(v >= 1 && v <= c) || v != (float)(int)v)
      return luaL_error(L, "nn.onehot: label %d is %f, expected a class "
                        "index from 1 to %d", i + 1, (lua_Number)v, c);
    o->data[(size_t)i * c + (size_t)v - 1] = 1;
  }
  return 1;
}

/* nn.clock() -> seconds from a monotonic clock, for timing */
static int d_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec * 1e-9);
  return 1;
}

/* nn.core.isatty([file]) -> whether the file (default io.stdout) is a
** terminal */
static int d_isatty(lua_State *L) {
  FILE *f = stdout;
  if (!lua_isnoneornil(L, 1)) {
    luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (!s->closef) return luaL_error(L, "isatty: the file is closed");
    f = s->f;
  }
  lua_pushboolean(L, isatty(fileno(f)));
  return 1;
}

/* ---- raw float32 bytes, for model files ----------------------------------- */

static int bigendian(void) {
  const uint32_t one = 1;
  return *(const unsigned char *)&one == 0;
}

/* A:tobytes() -> the elements as little-endian float32, row-major */
static int d_tobytes(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  size_t n = nn_numel(m), i;
  luaL_Buffer b;
  unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, n * 4);
  memcpy(p, m->data, n * 4);
  if (bigendian())
    for (i = 0; i < n * 4; i += 4) {
      unsigned char t = p[i];
      p[i] = p[i + 3]; p[i + 3] = t;
      t = p[i + 1]; p[i + 1] = p[i + 2]; p[i + 2] = t;
    }
  luaL_pushresultsize(&b, n * 4);
  return 1;
}

/* A:quantize(lo, hi) -> one byte per element, row-major: lo maps to 0,
** hi to 255, values outside are clamped and NaN is 0 (8-bit pixels) */
static int d_quantize(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  lua_Number lo = luaL_checknumber(L, 2), hi = luaL_checknumber(L, 3);
  size_t n = nn_numel(m);
  luaL_Buffer b;
  if (!isfinite(lo) || !isfinite(hi) || !((float)lo < (float)hi))
    return luaL_error(L, "Matrix:quantize: need finite lo < hi, got %f and %f",
                      lo, hi);
  k_tobytes8((unsigned char *)luaL_buffinitsize(L, &b, n), m->data, n,
             (float)lo, (float)hi);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* nn.core.deflate(s [, level]) -> s compressed as a zlib stream (RFC 1950);
** level 0..9, default 6 (zlib's) */
static int d_deflate(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer level = luaL_optinteger(L, 2, 6);
  uLongf out;
  luaL_Buffer b;
  int rc;
  if (level < 0 || level > 9)
    return luaL_error(L, "deflate: level must be from 0 to 9, got %I", level);
  out = compressBound((uLong)len);
  rc = compress2((Bytef *)luaL_buffinitsize(L, &b, out), &out,
                 (const Bytef *)s, (uLong)len, (int)level);
  if (rc != Z_OK)
    return luaL_error(L, "deflate: zlib error %d (%s)", rc,
                      rc == Z_MEM_ERROR ? "out of memory" : "bad input");
  luaL_pushresultsize(&b, out);
  return 1;
}

/* Matrix.fromfloats(s, rows, cols [, offset]): rows*cols little-endian
** float32 from byte offset (0-based) of s */
static int d_fromfloats(lua_State *L) {
  size_t len, need, i;
  const char *s = luaL_checklstring(L, 1, &len);
  int r = nn_checkdim(L, 2, "Matrix.fromfloats", "rows");
  int c = nn_checkdim(L, 3, "Matrix.fromfloats", "cols");
  lua_Integer off = luaL_optinteger(L, 4, 0);
  Matrix *m;
  nn_checkcount(L, "Matrix.fromfloats", r, c);
  need = (size_t)r * (size_t)c * 4;
  if (off < 0 || (size_t)off > len || len - (size_t)off < need)
    return luaL_error(L, "Matrix.fromfloats: need %I bytes at offset %I, the "
                      "string has %I", (lua_Integer)need, off,
                      (lua_Integer)len);
  m = nn_newmatrix(L, r, c);
  memcpy(m->data, s + off, need);
  if (bigendian()) {
    unsigned char *p = (unsigned char *)m->data;
    for (i = 0; i < need; i += 4) {
      unsigned char t = p[i];
      p[i] = p[i + 3]; p[i + 3] = t;
      t = p[i + 1]; p[i + 1] = p[i + 2]; p[i + 2] = t;
    }
  }
  return 1;
}

/* nn.core.crc32(s [, i [, j]]) -> the CRC-32 (zlib's) of s:sub(i, j) */
static int d_crc32(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer i = luaL_optinteger(L, 2, 1), j = luaL_optinteger(L, 3, -1);
  uLong crc = crc32(0L, Z_NULL, 0);
  if (j < 0) j += (lua_Integer)len + 1;
  if (i < 1) i = 1;
  if (j > (lua_Integer)len) j = (lua_Integer)len;
  while (i <= j) {                       /* zlib takes uInt lengths */
    lua_Integer n = j - i + 1 > (1 << 30) ? (1 << 30) : j - i + 1;
    crc = crc32(crc, (const Bytef *)s + i - 1, (uInt)n);
    i += n;
  }
  lua_pushinteger(L, (lua_Integer)crc);
  return 1;
}

/* nn.core.writefile(path, data) -> true, or nil, message.  Writes a
** temporary file in the same directory, syncs it, then renames it over
** path: a crash part way leaves the old file whole. */
static int d_writefile(lua_State *L) {
  size_t len, done = 0;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &len);
  const char *tmp = lua_pushfstring(L, "%s.tmp-%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), ok = fd >= 0;
  while (ok && done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += (size_t)n;
  }
  if (ok) ok = fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = 0;
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok) {
    int e = errno;
    if (fd >= 0) remove(tmp);
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot write %s: %s", path, strerror(e));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"readfile", d_readfile}, {"deflate", d_deflate}, {"correct", d_correct}, {"onehot", d_onehot},
  {"clock", d_clock}, {"isatty", d_isatty}, {"crc32", d_crc32},
  {"writefile", d_writefile}, {NULL, NULL}
};

/* the functions into the table on top; gather, fromfile, tobytes,
** quantize and fromfloats into the Matrix class */
void nn_data_open(lua_State *L) {
  luaL_setfuncs(L, funcs, 0);
  lua_getfield(L, -1, "Matrix");
  lua_pushcfunction(L, d_gather);
  lua_setfield(L, -2, "gather");
  lua_pushcfunction(L, d_fromfile);
  lua_setfield(L, -2, "fromfile");
  lua_pushcfunction(L, d_tobytes);
  lua_setfield(L, -2, "tobytes");
  lua_pushcfunction(L, d_quantize);
  lua_setfield(L, -2, "quantize");
  lua_pushcfunction(L, d_fromfloats);
  lua_setfield(L, -2, "fromfloats");
  lua_pop(L, 1);
}
