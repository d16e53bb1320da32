/** Port and readiness helpers for the service harness. */
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Linux hands out outgoing ports from 32768 up; servers get ports below that, so no client takes one first. */
const PORT_MIN = 20_000;
const PORT_MAX = 32_000;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, drawn below the kernel's ephemeral range: a port taken from the
 * ephemeral range can be grabbed by any outgoing connection between our check and the server's
 * bind ("address already in use").
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in [${PORT_MIN}, ${PORT_MAX}) after 200 tries`);
}

/** Distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Sends `payload` to 127.0.0.1:port and resolves with the first chunk of the reply. */
export function tcpRequest(port: number, payload: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.endsWith('\r\n') || data.endsWith('\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Polls `probe` until it resolves true or `timeoutMs` passes. The harness runs real servers, so it
 * waits in real time; tests of faultline itself never do. When `alive()` turns false (the server
 * process exited) it fails at once instead of waiting out the timeout.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  describeFailure: () => string = () => '',
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (!alive()) {
      throw new Error(
        `${what}: the server process exited before it was ready\n${describeFailure()}`,
      );
    }
    await sleep(50);
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`${what} not ready after ${timeoutMs} ms${cause}\n${describeFailure()}`);
}
