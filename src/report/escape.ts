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

/** JSON inside a <script type="application/json"> block: no "</script", no "<!--", no U+2028/9. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
