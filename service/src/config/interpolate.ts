import { isMap, isScalar, isSeq, Scalar, type Node } from 'yaml';
import type { ConfigIssue, ConfigPath, YamlSource } from '../../../sdk/typescript/yaml.js';

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string scalar of the document, in place, before
 * validation, so that the schema checks the values the service will really use. `$$` is a literal `$`.
 * Returns the paths whose values came from the environment: they are secrets wherever config is shown.
 */
export function interpolate(source: YamlSource, env: NodeJS.ProcessEnv): { fromEnv: ConfigPath[]; issues: ConfigIssue[] } {
  const fromEnv: ConfigPath[] = [];
  const issues: ConfigIssue[] = [];

  const walk = (node: Node | null | undefined, path: ConfigPath): void => {
    if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) walk(pair.value as Node, [...path, String(pair.key.value)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item as Node, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      let usedEnv = false;
      const text = node.value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
        if (match === '$$') return '$';
        const value = env[name!];
        if (value !== undefined && value !== '') { usedEnv = true; return value; }
        if (fallback !== undefined) return fallback;
        issues.push(source.issueAt(node.range?.[0] ?? 0, `\${${name}} is not set; export ${name} or write \${${name}:-default}`));
        return match;
      });
      if (usedEnv) fromEnv.push(path);
      node.value = node.type === Scalar.PLAIN ? retype(text) : text;
    }
  };
  walk(source.doc.contents as Node, []);
  return { fromEnv, issues };
}

/** An unquoted `${PORT:-8080}` becomes the number 8080, as if the technician had written it. */
function retype(text: string): string | number | boolean {
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}
