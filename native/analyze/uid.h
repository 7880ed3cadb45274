/* Connection uids in C (uid.c; src/flow/identity.ts connectionUid). */
#ifndef MIRRORLENS_UID_H
#define MIRRORLENS_UID_H

#include <stddef.h>
#include <stdint.h>

#define ML_UID_LEN 19

typedef struct ml_uid_input {
  const char *point; /* capture point name (UTF-8) in per-capture-point mode, else "" */
  size_t point_len;
  int ip_version;
  uint32_t c4, s4;    /* IPv4 client, server */
  const int32_t *a6;  /* IPv6: client words 0..3, server 4..7 */
  uint32_t cport, sport;
  double start;
  const char *prev;   /* the replaced connection's uid (ML_UID_LEN bytes), or NULL */
} ml_uid_input;

/* Writes the uid (ML_UID_LEN bytes, no NUL); -1 when the JavaScript must compute it (a start time toFixed writes in exponent form). */
int ml_uid(const ml_uid_input *u, char out[ML_UID_LEN]);

#endif
