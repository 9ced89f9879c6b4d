/*
** file.c: reading and writing files: (optionally gzipped) files through
** zlib, read only when regular (readfile, Matrix.fromfile), atomic writes
** (writefile), and zlib's deflate and CRC-32 for the formats built on them.
** The system calls under them are platform.c's.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "matrix.h"
#include "platform.h"

#define CHUNK (1 << 17)
#define NN_SRC "nn.Src"

/* deflate cannot expand more than about 1032 to 1 (RFC 1951: a 258-byte
** match costs at least 2 bits), so a gzip file of s bytes holds at most
** this many: a header that declares more is refused before allocating. */
#define GZ_MAXRATIO 1032

/* ---- reading files ---------------------------------------------------------
** An open input file is owned by a userdata from the moment it is opened,
** so that an error raised while it is open (a memory error in a
** luaL_Buffer, say) still closes it, at the next collection: liolib's
** newprefile does the same for io.open. */

typedef struct Src {
  int fd;             /* the descriptor while no gzFile owns it, else -1 */
  int err;            /* the last plain read's error code */
  gzFile gz;          /* reading through zlib (gzip or plain), or NULL */
  const char *path;   /* for messages; the caller keeps it alive */
} Src;

/* closes what s holds; returns gzclose's result (Z_OK for a plain file): a
** gzip stream that ended part way surfaces here */
static int srcclose(Src *s) {
  int r = Z_OK;
  if (s->gz) r = gzclose(s->gz);
  else if (s->fd >= 0) nnp_close(s->fd);
  s->gz = NULL;
  s->fd = -1;
  return r;
}

static int src_gc(lua_State *L) {
  srcclose((Src *)lua_touserdata(L, 1));
  return 0;
}

/* Pushes a Src for path, opened for reading, and sets *size to the file's
** size.  Only a regular file: a directory, a FIFO (whose open would block:
** nnp_openread does not wait for a writer) or a device such as /dev/zero
** (which never ends) is refused.  On failure pushes nil and a message in
** its place and returns NULL. */
static Src *opensrc(lua_State *L, const char *path, int64_t *size) {
  char why[256];
  Src *s = (Src *)lua_newuserdatauv(L, sizeof(Src), 0);
  int e;
  s->fd = -1;
  s->err = 0;
  s->gz = NULL;
  s->path = path;
  luaL_setmetatable(L, NN_SRC);
  e = nnp_openread(path, &s->fd, size);
  if (e == 0) return s;
  lua_pushfstring(L, "cannot %s %s: %s",
                  e == NNP_ISDIR || e == NNP_NOTREG ? "read" : "open", path,
                  nnp_strerror(e, why, sizeof why));
  lua_remove(L, -2);
  luaL_pushfail(L);
  lua_insert(L, -2);
  return NULL;
}

/* from now on, reads go through zlib (which reads a plain file as it is) */
static void srcgz(lua_State *L, Src *s) {
  gzFile f = gzdopen(s->fd, "rb");
  if (!f) luaL_error(L, "cannot read %s: out of memory", s->path);
  s->gz = f;
  s->fd = -1;                       /* gzclose closes it now */
  gzbuffer(f, CHUNK);
}

/* up to n bytes; 0 at the end, -1 on an error (srcerror says which) */
static int srcread(Src *s, void *buf, unsigned n) {
  if (s->gz) return gzread(s->gz, buf, n);
  return nnp_read(s->fd, buf, n, &s->err);
}

/* Raises: fn: path is corrupt, truncated or unreadable.  Call after a read
** returned -1, or at the end of the data when finishing (then a gzip
** stream that ended part way is the error). */
static int srcerror(lua_State *L, Src *s, const char *fn, int n) {
  int err = Z_OK;
  char why[256];
  const char *msg = NULL;
  if (n < 0)
    msg = s->gz ? gzerror(s->gz, &err) : nnp_strerror(s->err, why, sizeof why);
  if (msg) {
    msg = lua_pushfstring(L, "%s", msg);   /* gzclose frees zlib's */
    srcclose(s);
    return luaL_error(L, "%s: %s is corrupt or unreadable (%s)", fn, s->path,
                      msg);
  }
  err = srcclose(s);
  if (err != Z_OK)
    return luaL_error(L, "%s: %s is truncated or corrupt (zlib error %d)",
                      fn, s->path, err);
  return 0;
}

/* nn.core.readfile(path [, max [, plain]]) -> the file's bytes, at most
** max of them, gunzipped if it is gzip (zlib reads plain files as they
** are) unless plain.  nil, message if it cannot be opened or is not a
** regular file; an error if it is corrupt (a gzip stream that ends early
** or fails its check). */
static int readfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, LUA_MAXINTEGER);
  int plain = lua_toboolean(L, 3), n = 0;
  luaL_Buffer b;
  int64_t size;
  Src *s;
  if (max < 0) return luaL_argerror(L, 2, "must be >= 0");
  lua_settop(L, 3);
  if (!(s = opensrc(L, path, &size))) return 2;               /* at 4 */
  if (!plain) srcgz(L, s);
  luaL_buffinit(L, &b);
  while (max > 0) {
    int want = max < CHUNK ? (int)max : CHUNK;
    if ((size_t)want > NNC_PREPMAX) want = (int)NNC_PREPMAX;  /* Lua 5.1 */
    char *p = luaL_prepbuffsize(&b, (size_t)want);
    n = srcread(s, p, (unsigned)want);
    if (n <= 0) break;
    luaL_addsize(&b, (size_t)n);
    max -= n;
  }
  if (n < 0 || max > 0) srcerror(L, s, "readfile", n); /* at the end: check */
  else srcclose(s);
  luaL_pushresult(&b);
  return 1;
}

static int lib_readfile(lua_State *L) {
  const char *what;
  lua_settop(L, 3);
  what = lua_pushfstring(L, "the contents of %s", luaL_checkstring(L, 1));
  lua_insert(L, 1);                      /* kept below the call */
  return nn_protect(L, readfile, 3, 0, "readfile", what);
}

/* Matrix.fromfile(path, rows, cols [, offset [, scale]]): like frombytes
** on the file's bytes (gunzipped), streamed, with no string in between.
** The file must hold exactly offset + rows*cols bytes; that is checked
** against its size (a plain file) or the most a gzip file of its size can
** hold before the matrix is allocated, and any other failure, a stream cut
** short or corrupt included, is an error naming the file. */
int mat_fromfile(lua_State *L) {
  const char *fn = "Matrix.fromfile";
  const char *path = luaL_checkstring(L, 1);
  int r = nn_checkdim(L, 2, fn, "rows");
  int c = nn_checkdim(L, 3, fn, "cols");
  lua_Integer off = luaL_optinteger(L, 4, 0);
  float scale = lua_isnoneornil(L, 5) ? 1.0f
                : nn_checkfloat(L, 5, fn, "scale");
  unsigned char *buf, magic[2] = {0, 0};
  size_t need, done = 0;
  int64_t size;
  Src *s;
  Matrix *m;
  int n = 0;
  lua_Integer total;
  nn_checkcount(L, fn, r, c);
  if (off < 0 || off > (1 << 30))
    return luaL_error(L, "%s: offset must be from 0 to 2^30, got %I", fn, off);
  need = (size_t)r * (size_t)c;
  total = off + (lua_Integer)need;
  lua_settop(L, 5);
  if (!(s = opensrc(L, path, &size)))                          /* at 6 */
    return luaL_error(L, "%s: %s", fn, lua_tostring(L, -1));
  if (nnp_peek(s->fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    if ((double)total > (double)size * GZ_MAXRATIO) {
      srcclose(s);            /* now, not when the collector gets to it */
      return luaL_error(L, "%s: %s needs %I bytes of data, more than a "
                        "gzip file of %I bytes can hold", fn, path, total,
                        (lua_Integer)size);
    }
  } else if (total != (lua_Integer)size) {
    srcclose(s);
    return luaL_error(L, "%s: %s holds %I bytes, expected %I (offset %I + "
                      "%d x %d)", fn, path, (lua_Integer)size, total, off, r,
                      c);
  }
  srcgz(L, s);
  m = nn_newmatrix(L, r, c);                                  /* at 7 */
  buf = (unsigned char *)lua_newuserdatauv(L, CHUNK, 0);      /* at 8 */
  while (off > 0) {                                     /* skip the header */
    n = srcread(s, buf, (unsigned)(off < CHUNK ? off : CHUNK));
    if (n <= 0) break;
    off -= n;
  }
  while (off == 0 && done < need) {
    size_t want = need - done < CHUNK ? need - done : CHUNK;
    n = srcread(s, buf, (unsigned)want);
    if (n <= 0) break;
    k_frombytes(m->data + done, buf, (size_t)n, scale);
    done += (size_t)n;
  }
  if (n >= 0 && done == need) n = srcread(s, buf, 1);  /* must be the end */
  srcerror(L, s, fn, n);
  if (done < need || n > 0)
    return luaL_error(L, "%s: %s holds %s bytes of data, expected %I "
                      "(offset + %d x %d)", fn, path,
                      done < need ? "fewer" : "more", total, r, c);
  lua_settop(L, 7);
  return 1;
}

/* nn.core.deflate(s [, level]) -> s compressed as a zlib stream (RFC 1950);
** level 0..9, default 6 (zlib's) */
static int deflate_body(lua_State *L) {
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

static int lib_deflate(lua_State *L) {
  size_t len;
  luaL_checklstring(L, 1, &len);
  return nn_protect(L, deflate_body, lua_gettop(L),
                    (size_t)compressBound((uLong)len), "deflate",
                    "a compressed string");
}

/* nn.core.crc32(s [, i [, j]]) -> the CRC-32 (zlib's) of s:sub(i, j) */
static int lib_crc32(lua_State *L) {
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

/* Fills buf[0..n) with unpredictable letters for a temporary name.  The
** name's safety does not rest on them (the file is made exclusively and
** no link is followed); they keep a planted file from blocking every
** attempt. */
static void randomname(char *buf, size_t n) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  unsigned char r[32];
  size_t i;
  nnp_random(r, sizeof r);
  for (i = 0; i < n; i++) buf[i] = digits[r[i % sizeof r] % 36];
}

/* nn.core.writefile(path, data) -> true, or nil, message.  Atomic: the
** data goes to a new temporary file beside the target (created
** exclusively, under an unpredictable name, never through a link, so no
** planted link is followed and two writers never share one), is synced,
** then renamed over the target (on Windows with MoveFileEx, which replaces
** an existing file), so a crash part way leaves the old file whole and a
** reader sees the old file or the new one.  A symbolic link is written
** through: its target is replaced and the link stays (POSIX).  An existing
** target keeps its permission bits; one that is not a regular file (a
** device, a directory, a FIFO) is refused. */
static int lib_writefile(lua_State *L) {
  size_t len;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &len);
  const char *target = path, *tmp;
  char name[13], why[256];
  char *real;
  int e, exists, tries;
  unsigned mode = 0;
  lua_settop(L, 2);
  if ((e = nnp_linktarget(path, &real)) != 0) {  /* the link's final target */
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot write %s: it is a symbolic link to %s (%s)",
                    path, "a missing file", nnp_strerror(e, why, sizeof why));
    return 2;
  }
  if (real) {
    target = lua_pushstring(L, real);
    free(real);
  }
  e = nnp_stat(target, &mode);
  exists = e == 0;
  if (e == NNP_ISDIR || e == NNP_NOTREG) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot write %s: %s", path,
                    nnp_strerror(e, why, sizeof why));
    return 2;
  }
  for (tries = 0; tries < 16; tries++) {
    randomname(name, sizeof name - 1);
    name[sizeof name - 1] = '\0';
    lua_settop(L, target == path ? 2 : 3);
    tmp = lua_pushfstring(L, "%s.tmp-%s", target, name);
    e = nnp_writeover(tmp, target, data, len, exists, mode);
    if (e != NNP_EXISTS) break;
  }
  if (e) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot write %s: %s", path,
                    nnp_strerror(e, why, sizeof why));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg srcmeta[] = {
  {"__gc", src_gc}, {NULL, NULL}
};

static const luaL_Reg lib[] = {
  {"readfile", lib_readfile}, {"deflate", lib_deflate}, {"crc32", lib_crc32},
  {"writefile", lib_writefile}, {NULL, NULL}
};

/* the Src metatable; the functions into the table on top
** (Matrix.fromfile is registered in matrix_class.c) */
void nn_file_open(lua_State *L) {
  luaL_newmetatable(L, NN_SRC);
  luaL_setfuncs(L, srcmeta, 0);
  lua_pop(L, 1);
  luaL_setfuncs(L, lib, 0);
}
