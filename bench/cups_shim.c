/* A small shim around libcups' ippReadIO/ippWriteIO so that bench/codec.py can time
 * libcups on the same bytes, in the same process, as the Python decoders.  Timing is
 * done here, in C, so that the ctypes call overhead is not charged to libcups. */
#include <cups/cups.h>
#include <cups/ipp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const unsigned char *data;
  size_t len;
  size_t pos;
} membuf_t;

typedef struct {
  unsigned char *data;
  size_t cap;
  size_t pos;
} outbuf_t;

static ssize_t mem_read(void *ctx, ipp_uchar_t *buffer, size_t bytes) {
  membuf_t *m = (membuf_t *)ctx;
  size_t left = m->len - m->pos;
  if (bytes > left) bytes = left;
  memcpy(buffer, m->data + m->pos, bytes);
  m->pos += bytes;
  return (ssize_t)bytes;
}

static ssize_t mem_write(void *ctx, ipp_uchar_t *buffer, size_t bytes) {
  outbuf_t *o = (outbuf_t *)ctx;
  if (o->pos + bytes > o->cap) return -1;
  memcpy(o->data + o->pos, buffer, bytes);
  o->pos += bytes;
  return (ssize_t)bytes;
}

/* The clock the timings use: CLOCK_MONOTONIC (wall time, the default) or
 * CLOCK_THREAD_CPUTIME_ID (CPU time of the calling thread), see shim_use_cpu_clock. */
static clockid_t shim_clock = CLOCK_MONOTONIC;

void shim_use_cpu_clock(int cpu) {
  shim_clock = cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(shim_clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Decode the message `iterations` times; returns total nanoseconds, or -1 on error. */
double shim_read(const unsigned char *data, size_t len, long iterations) {
  double start = now_ns();
  for (long i = 0; i < iterations; i++) {
    membuf_t m = {data, len, 0};
    ipp_t *ipp = ippNew();
    ipp_state_t state = ippReadIO(&m, (ipp_iocb_t)mem_read, 1, NULL, ipp);
    if (state != IPP_STATE_DATA) {
      ippDelete(ipp);
      return -1.0;
    }
    ippDelete(ipp);
  }
  return now_ns() - start;
}

/* Decode once, then encode `iterations` times; returns total nanoseconds of the encodes,
 * or -1 on error.  *outlen receives the encoded size. */
double shim_write(const unsigned char *data, size_t len, long iterations,
                  unsigned char *out, size_t outcap, size_t *outlen) {
  membuf_t m = {data, len, 0};
  ipp_t *ipp = ippNew();
  if (ippReadIO(&m, (ipp_iocb_t)mem_read, 1, NULL, ipp) != IPP_STATE_DATA) {
    ippDelete(ipp);
    return -1.0;
  }
  double start = now_ns();
  for (long i = 0; i < iterations; i++) {
    outbuf_t o = {out, outcap, 0};
    ippSetState(ipp, IPP_STATE_IDLE);
    if (ippWriteIO(&o, (ipp_iocb_t)mem_write, 1, NULL, ipp) != IPP_STATE_DATA) {
      ippDelete(ipp);
      return -1.0;
    }
    *outlen = o.pos;
  }
  double elapsed = now_ns() - start;
  ippDelete(ipp);
  return elapsed;
}

/* Decode each of the `n` buffers in turn, `passes` times over the list, so that
 * libcups reads the same distinct variants as the Python decoders.  Returns the total
 * nanoseconds, or -1 - i if buffer i does not decode. */
double shim_read_many(const unsigned char *const *bufs, const size_t *lens, long n,
                      long passes) {
  double start = now_ns();
  for (long p = 0; p < passes; p++) {
    for (long i = 0; i < n; i++) {
      membuf_t m = {bufs[i], lens[i], 0};
      ipp_t *ipp = ippNew();
      ipp_state_t state = ippReadIO(&m, (ipp_iocb_t)mem_read, 1, NULL, ipp);
      ippDelete(ipp);
      if (state != IPP_STATE_DATA) return -1.0 - (double)i;
    }
  }
  return now_ns() - start;
}

/* Decode each of the `n` buffers once (not timed), then encode each in turn, `passes`
 * times over the list.  outlens[i] receives the encoded size of buffer i.  Returns the
 * total nanoseconds of the encodes, or -1 - i if buffer i does not decode or encode. */
double shim_write_many(const unsigned char *const *bufs, const size_t *lens, long n,
                       long passes, unsigned char *out, size_t outcap,
                       size_t *outlens) {
  ipp_t **ipps = (ipp_t **)calloc((size_t)n, sizeof(ipp_t *));
  double result = 0.0, start;
  if (!ipps) return -1e18;
  for (long i = 0; i < n; i++) {
    membuf_t m = {bufs[i], lens[i], 0};
    ipps[i] = ippNew();
    if (ippReadIO(&m, (ipp_iocb_t)mem_read, 1, NULL, ipps[i]) != IPP_STATE_DATA) {
      result = -1.0 - (double)i;
      n = i + 1;
      goto done;
    }
  }
  start = now_ns();
  for (long p = 0; p < passes; p++) {
    for (long i = 0; i < n; i++) {
      outbuf_t o = {out, outcap, 0};
      ippSetState(ipps[i], IPP_STATE_IDLE);
      if (ippWriteIO(&o, (ipp_iocb_t)mem_write, 1, NULL, ipps[i]) != IPP_STATE_DATA) {
        result = -1.0 - (double)i;
        goto done;
      }
      outlens[i] = o.pos;
    }
  }
  result = now_ns() - start;
done:
  for (long i = 0; i < n; i++) ippDelete(ipps[i]);
  free(ipps);
  return result;
}

/* Decode `data` and encode it again into `out`: returns the encoded size, or -1 if
 * libcups cannot read it, -2 if it cannot write it back (for checking that libcups
 * reads the benchmark messages whole). */
long shim_roundtrip(const unsigned char *data, size_t len, unsigned char *out,
                    size_t outcap) {
  membuf_t m = {data, len, 0};
  ipp_t *ipp = ippNew();
  if (ippReadIO(&m, (ipp_iocb_t)mem_read, 1, NULL, ipp) != IPP_STATE_DATA) {
    ippDelete(ipp);
    return -1;
  }
  outbuf_t o = {out, outcap, 0};
  ippSetState(ipp, IPP_STATE_IDLE);
  if (ippWriteIO(&o, (ipp_iocb_t)mem_write, 1, NULL, ipp) != IPP_STATE_DATA) {
    ippDelete(ipp);
    return -2;
  }
  ippDelete(ipp);
  return (long)o.pos;
}

/* The libcups version the shim was compiled against, e.g. "2.4.2". */
const char *shim_cups_version(void) {
  static char version[32];
  snprintf(version, sizeof(version), "%d.%d.%d", CUPS_VERSION_MAJOR,
           CUPS_VERSION_MINOR, CUPS_VERSION_PATCH);
  return version;
}
