/**
 * The path expressions that map JSON fields to points: a small, strict subset of JSONPath.
 *   $            the whole payload (a bare number or string message)
 *   $.a.b        member access (also "a.b" without "$")
 *   $.list[2]    array index
 *   $["a b"]     member with any characters
 */

export type Segment = string | number;

export function parsePath(text: string): Segment[] {
  let s = text.trim();
  if (s.startsWith('$')) s = s.slice(1);
  else s = `.${s}`;
  const out: Segment[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      const m = /^\.([A-Za-z_$][\w$-]*)/.exec(s.slice(i));
      if (!m) throw new Error(`path "${text}": expected a name after "." at character ${i + 1}`);
      out.push(m[1]);
      i += m[0].length;
    } else if (s[i] === '[') {
      const m = /^\[(?:(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(s.slice(i));
      if (!m) throw new Error(`path "${text}": expected [N], ['name'] or ["name"] at character ${i + 1}`);
      out.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? m[3]).replace(/\\(.)/g, '$1'));
      i += m[0].length;
    } else {
      throw new Error(`path "${text}": unexpected "${s[i]}" at character ${i + 1}; write $.a.b or $.list[0]`);
    }
  }
  return out;
}

/** The value at `path`, or undefined when the payload has nothing there. */
export function select(value: unknown, path: readonly Segment[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = typeof seg === 'number' ? (Array.isArray(cur) ? cur[seg] : undefined) : (cur as Record<string, unknown>)[seg];
  }
  return cur;
}
