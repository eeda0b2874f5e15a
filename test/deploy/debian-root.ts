import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CACHE = process.env.BACKWORKS_CACHE ?? path.join(os.homedir(), '.cache/backworks');
const MIRROR = 'http://deb.debian.org/debian';

export function sh(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 600_000, ...options }).toString();
}

export interface User { uid: number; gid: number; groups: number[] }
export interface RunAs { user?: User; env?: Record<string, string> }

/**
 * A clean Debian 12 root: debootstrap --variant=minbase from Debian's mirror once (cached outside
 * the repository), then a fresh copy per test run with /proc, /dev and name resolution.
 */
export class DebianRoot {
  private constructor(readonly dir: string) {}

  static create(): DebianRoot {
    const pristine = path.join(CACHE, 'debootstrap/bookworm-amd64');
    if (!fs.existsSync(path.join(pristine, 'usr/bin/apt-get'))) {
      const partial = `${pristine}.partial`;
      fs.rmSync(partial, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(partial), { recursive: true });
      sh('debootstrap', ['--variant=minbase', 'bookworm', partial, MIRROR]);
      fs.renameSync(partial, pristine);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-debian-'));
    sh('cp', ['-a', `${pristine}/.`, dir]);
    fs.copyFileSync('/etc/resolv.conf', path.join(dir, 'etc/resolv.conf'));
    sh('mount', ['-t', 'proc', 'proc', path.join(dir, 'proc')]);
    sh('mount', ['--rbind', '/dev', path.join(dir, 'dev')]);
    return new DebianRoot(dir);
  }

  /** Runs a shell command inside the root, as root unless `user` is given; returns stdout. */
  run(command: string, options: RunAs = {}): string {
    return sh('chroot', this.args(command, options));
  }

  /** Starts a long-running command inside the root (exec'd: the child's PID is the command's). */
  spawn(command: string, options: RunAs = {}): ChildProcess {
    return spawn('chroot', this.args(`exec ${command}`, options), { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The numeric ids of a user of the root (chroot looks names up on the host, not inside). */
  user(name: string): User {
    const [uid, gid] = this.run(`id -u ${name}; id -g ${name}`).trim().split('\n').map(Number);
    const groups = this.run(`id -G ${name}`).trim().split(' ').map(Number);
    return { uid, gid, groups };
  }

  private args(command: string, { user, env: extra }: RunAs): string[] {
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8', ...extra };
    const as = user ? [`--userspec=${user.uid}:${user.gid}`, `--groups=${user.groups.join(',')}`] : [];
    return [...as, this.dir, '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', command];
  }

  path(inside: string): string {
    return path.join(this.dir, inside);
  }

  destroy(): void {
    for (const mount of ['dev', 'proc']) {
      try { sh('umount', ['-R', '-l', path.join(this.dir, mount)]); } catch { /* already gone */ }
    }
    // Only once nothing is mounted inside: rm must never reach the host's /dev.
    const mounted = fs.readFileSync('/proc/mounts', 'utf8').includes(` ${this.dir}/`);
    if (!mounted) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
