/**
 * A server process owned by a test: started in its own temp dir, controlled with signals, and
 * always cleaned up, even when the test runner itself dies (a detached reaper watches the runner).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  rmSync,
  chmodSync,
  openSync,
  closeSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { waitUntil } from './net.js';

/** Thrown when a server binary is missing; the message says how to install it. */
export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
  constructor(binary: string, pkg: string) {
    super(`${binary} not found (Debian package ${pkg}); run scripts/provision.sh`);
  }
}

/** Finds `name` on PATH or in `extraDirs`; throws {@link MissingBinaryError} naming the package. */
export function findBinary(name: string, pkg: string, extraDirs: readonly string[] = []): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...extraDirs, '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new MissingBinaryError(name, pkg);
}

const liveDirs = new Set<string>();
const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveProcesses) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh temp dir removed on cleanup (and at exit at the latest). */
export function tempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `faultline-${prefix}-`));
  chmodSync(dir, 0o755);
  liveDirs.add(dir);
  return dir;
}

/** Removes a temp dir made by {@link tempDir}. */
export function removeTempDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts a detached shell that kills `pid` and removes `dir` once this test process is gone, so a
 * runner killed with SIGKILL leaves no orphan server or temp dir behind.
 */
function startReaper(pid: number, command: string, dir: string | undefined): void {
  // The pid is killed only while it still runs our server binary: after a normal stop the kernel
  // may have given the number to an unrelated process.
  const name = basename(command).replace(/[^A-Za-z0-9._-]/g, '');
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `if grep -qa -- '${name}' /proc/${pid}/cmdline 2>/dev/null; then ` +
    `kill -CONT ${pid} 2>/dev/null; kill -9 ${pid} 2>/dev/null; fi; ` +
    (dir === undefined ? '' : `rm -rf '${dir}'`);
  const reaper = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  reaper.unref();
}

/** How to launch one server process. */
export interface LaunchSpec {
  /** Name used in error messages, e.g. `redis:6380`. */
  name: string;
  command: string;
  args: readonly string[];
  /** Run as this user (when root); used for servers that refuse to run as root. */
  user?: string;
  /** Where the server's stdout/stderr go; shown when it fails to start. */
  logFile: string;
  /** Temp dir the reaper removes if the runner dies. */
  dir?: string;
  env?: Record<string, string>;
  /** Signal for a graceful stop (default SIGTERM; PostgreSQL's fast shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
}

/** A running server process with signal controls. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly spec: LaunchSpec;

  constructor(spec: LaunchSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Launches the process (not yet ready: callers wait for readiness themselves). */
  start(): void {
    installExitHook();
    const { command, args, user, logFile } = this.spec;
    const fd = openSync(logFile, 'a');
    // Spawn the server itself under the other user (no wrapper process), so signals reach it.
    const child = spawn(command, [...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...this.spec.env },
      ...credentials(user),
    });
    closeSync(fd);
    this.child = child;
    liveProcesses.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => liveProcesses.delete(child));
    if (child.pid !== undefined) startReaper(child.pid, command, this.spec.dir);
  }

  /** The tail of the server's log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return this.exited;
    child.kill('SIGCONT');
    child.kill(this.spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: the process dies at once, losing whatever it had not made durable. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return this.exited;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process is frozen (like a long GC pause); its sockets stay open. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  /** SIGCONT: the frozen process runs again. */
  resume(): void {
    this.signal('SIGCONT');
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.child === undefined || !this.running) {
      throw new Error(`${this.spec.name} is not running`);
    }
    this.child.kill(sig);
  }
}

/** uid/gid options that run a child as `user` when we are root (and nothing otherwise). */
function credentials(user: string | undefined): { uid?: number; gid?: number } {
  if (user === undefined || process.getuid?.() !== 0) return {};
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no such user: ${user}`);
  return { uid, gid };
}

/** Gives `dir` (recursively) to `user` when running as root, so a server can run as that user. */
export function giveTo(dir: string, user: string): void {
  if (process.getuid?.() !== 0) return;
  spawnSync('chown', ['-R', `${user}:`, dir]);
}

/** Runs a command synchronously (as `user` when root), throwing with its output on failure. */
export function runSync(command: string, args: readonly string[], user?: string): string {
  const result = spawnSync(command, [...args], { encoding: 'utf8', ...credentials(user) });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/**
 * The controls every harness server shares: a private process in a private temp dir. Subclasses
 * supply `start()` (launch and wait until ready).
 */
export abstract class ManagedServer {
  readonly dir: string;
  protected readonly process: ServerProcess;

  protected constructor(dir: string, spec: LaunchSpec) {
    this.dir = dir;
    this.process = new ServerProcess(spec);
  }

  /** Launches the server and resolves once it answers. */
  abstract start(): Promise<void>;

  /** Waits until `probe` answers true; fails at once, with the log, if the process exits. */
  protected waitReady(
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs: number,
  ): Promise<void> {
    return waitUntil(
      what,
      probe,
      timeoutMs,
      () => this.process.logTail(),
      () => this.process.running,
    );
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Graceful stop; resolves when the process is gone. */
  stop(): Promise<void> {
    return this.process.stop();
  }

  /** SIGKILL: dies at once, losing whatever it had not made durable. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGSTOP: frozen like a long GC pause, sockets still open. */
  pause(): void {
    this.process.pause();
  }

  /** SIGCONT. */
  resume(): void {
    this.process.resume();
  }

  /** Stops and starts again with the same dir and port. */
  async restart(): Promise<void> {
    await this.process.stop();
    await this.start();
  }

  /** Stops the server and removes its dir. */
  async cleanup(): Promise<void> {
    await this.process.stop();
    removeTempDir(this.dir);
  }
}
