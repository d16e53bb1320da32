/**
 * Runs the coordinator child process of the crash tests and waits for it to end.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./coordinator-child.ts', import.meta.url));
const sagaScript = fileURLToPath(new URL('./saga-child.ts', import.meta.url));
const tccScript = fileURLToPath(new URL('./tcc-child.ts', import.meta.url));

/** How the child ended and what it printed. */
export interface ChildRun {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly gid: string | undefined;
  readonly acknowledged: boolean;
  readonly stderr: string;
}

/** Runs the child with `config` (see coordinator-child.ts); resolves when it has exited. */
export function runCoordinatorChild(config: object, timeoutMs = 40_000): Promise<ChildRun> {
  return runChild(script, config, timeoutMs);
}

/** Runs the saga child with `config` (see saga-child.ts); `gid` is the saga id. */
export function runSagaChild(config: object, timeoutMs = 40_000): Promise<ChildRun> {
  return runChild(sagaScript, config, timeoutMs);
}

/** Runs the TCC coordinator child with `config` (see tcc-child.ts). */
export function runTccChild(config: object, timeoutMs = 40_000): Promise<ChildRun> {
  return runChild(tccScript, config, timeoutMs);
}

function runChild(path: string, config: object, timeoutMs: number): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', path, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let gid: string | undefined;
  let acknowledged = false;
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('GID ') || line.startsWith('SAGA ')) gid = line.split(' ')[1];
    if (line.startsWith('ACK ') || line.startsWith('DONE ')) acknowledged = true;
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coordinator child did not exit in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Let readline deliver the last lines.
      setImmediate(() => resolve({ signal, code, gid, acknowledged, stderr }));
    });
  });
}
