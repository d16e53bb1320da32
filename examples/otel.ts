/**
 * faultline's calls as OpenTelemetry spans and metrics (`faultline/otel`), printed to the console
 * by the OpenTelemetry SDK: a retried call, a circuit breaker that opens, and a lock two workers
 * wait for. In a service, put your OTLP exporter where the console exporters are.
 *
 * Run: node --import tsx examples/otel.ts
 */
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CircuitBreaker, Retry } from 'faultline';
import { Lock, MemoryLockBackend } from 'faultline/coord';
import { installOpenTelemetry } from 'faultline/otel';

const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
});
const reader = new PeriodicExportingMetricReader({
  exporter: new ConsoleMetricExporter(),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });

const retry = new Retry({ maxAttempts: 3, backoff: { baseMs: 5, jitter: 'none' } });
const breaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 2 } });
const lock = new Lock(new MemoryLockBackend());
const names = new Map<object, string>([
  [retry, 'inventory-api'],
  [breaker, 'payments-api'],
  [lock, 'reports'],
]);

{
  // Spans and metrics are produced from here to the end of the block, and nothing after it.
  using _telemetry = installOpenTelemetry({
    tracerProvider,
    meterProvider,
    nameOf: (target) => names.get(target),
  });

  let attempts = 0;
  const stock = await retry.execute(async () => {
    if (++attempts < 3) throw new Error('503 from inventory');
    return 12;
  });
  console.log(`stock: ${stock} after ${attempts} attempts`);

  for (let i = 0; i < 3; i++) {
    await breaker.execute(() => Promise.reject(new Error('payments down'))).catch(() => undefined);
  }
  console.log(`breaker: ${breaker.state}`);

  const worker = (name: string) =>
    lock.with('report', { ttlMs: 1_000, waitMs: 1_000 }, async (lease) => {
      console.log(`${name}: holds the lock, token ${lease.token}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
  await Promise.all([worker('a'), worker('b')]);

  await reader.forceFlush();
}

await lock.close();
await meterProvider.shutdown();
await tracerProvider.shutdown();
