/**
 * Captured strings (headers, paths, user agents, SNI) are attacker-controlled. Every renderer
 * passes them through one of these before output.
 */

/** For terminals and plain text: C0/C1 controls and DEL become visible \xNN escapes (no ANSI injection). */
export function escapeText(s: string): string {
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For HTML text and attribute values (quoted with " or '). Controls are shown as escapes too. */
export function escapeHtml(s: string): string {
  return escapeText(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for output that may reach a terminal: JSON.stringify escapes C0 controls; this also escapes
 * DEL, C1 controls, line/paragraph separators and bidi overrides, which terminals act on.
 */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
