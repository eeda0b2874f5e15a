/**
 * The platform a native library is built for, as signed manifests and registry indexes name it:
 * OS, CPU and C library, e.g. linux-x64-gnu or linux-arm64-gnu. A glibc library does not load on
 * musl (and the reverse), so the C library is part of the name.
 */
export function currentPlatform(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return `linux-${process.arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}
