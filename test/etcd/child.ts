/**
 * A holder process for the GC-pause tests: a real child `node --import tsx` process that the test
 * can SIGSTOP and SIGCONT, talking line by line over stdin/stdout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running holder script. */
export class HolderProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(script: string, args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const next = this.waiting.shift();
      if (next === undefined) this.lines.push(line);
      else next(line);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next line the holder prints (rejects after `timeoutMs`, with its stderr). */
  nextLine(timeoutMs = 20_000): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`holder printed nothing in ${timeoutMs} ms; stderr:\n${this.stderr}`)),
        timeoutMs,
      );
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** SIGSTOP: the process runs nothing (no keep-alive, no timer) until {@link resume}. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  kill(): void {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
  }
}

/** Parses `KEY value` from a holder line, failing loudly on anything else. */
export function field(line: string, name: string): string {
  const [head, ...rest] = line.split(' ');
  if (head !== name) throw new Error(`expected ${name}, got: ${line}`);
  return rest.join(' ');
}
