import { defineConfig } from 'vitest/config';

// FAULTLINE_IOREDIS=6 runs the tests against ioredis 6 (the `ioredis6` alias devDependency) in
// place of ioredis 5: the peer range covers both majors, so both are tested.
const ioredis6 = process.env['FAULTLINE_IOREDIS'] === '6';

export default defineConfig({
  resolve: ioredis6 ? { alias: { ioredis: 'ioredis6' } } : {},
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Integration tests start real servers; give them room but keep the suite bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only adds contention for the servers the tests start.
    maxWorkers: 2,
  },
});
