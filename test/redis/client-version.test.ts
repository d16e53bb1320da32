/**
 * Which ioredis the Redis tests run against: 5 by default, 6 with `FAULTLINE_IOREDIS=6` (the
 * `ioredis6` alias devDependency; see vitest.config.ts). The peer range covers both.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';

describe('ioredis under test', () => {
  it('is the major the run asked for', () => {
    const require = createRequire(import.meta.url);
    const expected = process.env['FAULTLINE_IOREDIS'] === '6' ? 'ioredis6' : 'ioredis';
    // The class the tests import is the one of the package the run asked for.
    const { Redis: fromPackage } = require(expected) as { Redis: unknown };
    expect(Redis).toBe(fromPackage);
    const { version } = require(`${expected}/package.json`) as { version: string };
    expect(version.split('.')[0]).toBe(expected === 'ioredis6' ? '6' : '5');
  });
});
