/* A small shim around libcups' ippReadIO/ippWriteIO so that bench/codec.py can time
 * libcups on the same bytes, in the same process, as the Python decoders.  Timing is
 * done here, in C, so that the ctypes call overhead is not charged to libcups. */
#include <cups/ipp.h>
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

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
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
