/**
 * The service harness: private instances of the real servers faultline integrates with, on free
 * loopback ports in temp dirs, with controls to stop, kill, pause, resume and restart them.
 */
export { redis, redisCluster, redisCommand, RedisServer } from './redis.js';
export type { RedisGroup } from './redis.js';
export { etcd, EtcdMember } from './etcd.js';
export type { EtcdCluster } from './etcd.js';
export { postgres, postgresReplica, PostgresServer } from './postgres.js';
export type { PostgresOptions, PostgresReplicaOptions } from './postgres.js';
export { mariadb, MariadbServer } from './mariadb.js';
export { MissingBinaryError, findBinary } from './process.js';
export { freePort, freePorts, waitUntil } from './net.js';
