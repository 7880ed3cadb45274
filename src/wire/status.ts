/**
 * Decoder result codes (the STYLE contract): every `check()` / `decode()` returns one of these and
 * never throws on packet bytes.
 *
 * - Ok: every length field was validated; accessors may be used.
 * - Truncated: the bytes end before the header (or a declared length) does; typical of snaplen or
 *   of Traffic Mirroring's PacketLength truncation. Not an attack, not a bug.
 * - Malformed: a field contradicts the spec (bad version, header length below minimum...).
 * - Unsupported: well-formed, but a protocol or variant we do not decode (an unknown EtherType).
 */
export const Status = {
  Ok: 0,
  Truncated: 1,
  Malformed: 2,
  Unsupported: 3,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES: readonly string[] = ['ok', 'truncated', 'malformed', 'unsupported'];
