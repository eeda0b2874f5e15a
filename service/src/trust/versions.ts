/**
 * Orders plugin versions: dot-separated numbers compared as numbers ("1.10.0" > "1.9.2"); a
 * pre-release ("1.0.0-rc.1") comes before its release, as in semver.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = split(a);
  const [coreB, preB] = split(b);
  for (let i = 0; i < Math.max(coreA.length, coreB.length); i++) {
    const d = part(coreA[i] ?? '0', coreB[i] ?? '0');
    if (d) return d;
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  const pa = preA.split('.');
  const pb = preB.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const d = part(pa[i], pb[i]);
    if (d) return d;
  }
  return 0;
}

function split(v: string): [string[], string | undefined] {
  const plain = v.split('+')[0];
  const dash = plain.indexOf('-');
  return dash < 0 ? [plain.split('.'), undefined] : [plain.slice(0, dash).split('.'), plain.slice(dash + 1)];
}

function part(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return Math.sign(na - nb);
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
