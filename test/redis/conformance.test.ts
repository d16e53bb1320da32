/**
 * The shared LockBackend conformance suite against real servers: one Redis, a 3-master Redis
 * Cluster, and Redlock over three independent Redis servers.
 */
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLockBackend, RedlockBackend } from '../../src/adapters/redis/index.js';
import { lockBackendConformance } from '../../src/coord/conformance.js';
import type { RedisGroup } from '../services/index.js';
import { redis, redisCluster } from '../services/index.js';
import { client, elapseOn } from './helpers.js';

let single: RedisGroup;
let three: RedisGroup;
let cluster: RedisGroup;
let singleClient: Redis;
let threeClients: Redis[];
let clusterClient: Cluster;

beforeAll(async () => {
  [single, three, cluster] = await Promise.all([redis(1), redis(3), redisCluster({ masters: 3 })]);
  singleClient = client(single.servers[0]!);
  threeClients = three.servers.map((s) => client(s));
  clusterClient = new Cluster(
    cluster.servers.map((s) => ({ host: s.host, port: s.port })),
    { redisOptions: { maxRetriesPerRequest: 1 } },
  );
});

afterAll(async () => {
  singleClient.disconnect();
  for (const c of threeClients) c.disconnect();
  clusterClient.disconnect();
  await Promise.all([single.cleanup(), three.cleanup(), cluster.cleanup()]);
});

const api = { describe, it, expect } as Parameters<typeof lockBackendConformance>[0];

lockBackendConformance(api, 'redis (single instance)', async () => {
  const backend = new RedisLockBackend(singleClient);
  return {
    backend,
    elapse: (ms) => elapseOn([singleClient], ms),
    cleanup: async () => backend.close(),
  };
});

lockBackendConformance(api, 'redis (3-master cluster)', async () => {
  const backend = new RedisLockBackend(clusterClient);
  const masters = (): Redis[] => clusterClient.nodes('master');
  return { backend, elapse: (ms) => elapseOn(masters(), ms), cleanup: async () => backend.close() };
});

lockBackendConformance(api, 'redlock (3 independent servers)', async () => {
  const backend = RedlockBackend.fromClients(threeClients);
  return {
    backend,
    elapse: (ms) => elapseOn(threeClients, ms),
    cleanup: async () => backend.close(),
  };
});
