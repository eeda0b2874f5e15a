/** MQTT topic filters (+ and #) and the {N} placeholders that name devices after topic levels. */

export function validFilter(filter: string): string | undefined {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return `"#" must be a whole level and the last one in "${filter}"`;
    if (l.includes('+') && l !== '+') return `"+" must be a whole level in "${filter}"`;
  }
  return undefined;
}

export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Replaces {N} with level N of the topic. */
export function fill(template: string, topic: string): string {
  const levels = topic.split('/');
  return template.replace(/\{(\d+)\}/g, (_, n: string) => levels[Number(n)] ?? '');
}

/** The {N} placeholders of a template that do not name a wildcard level of the filter. */
export function badPlaceholders(template: string, filter: string): number[] {
  const levels = filter.split('/');
  const bad: number[] = [];
  for (const m of template.matchAll(/\{(\d+)\}/g)) {
    const n = Number(m[1]);
    const level = levels[n];
    const covered = level === '+' || (levels.includes('#') && n >= levels.indexOf('#'));
    if (!covered) bad.push(n);
  }
  return bad;
}
