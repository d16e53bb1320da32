/**
 * The etcd adapter (`faultline/etcd`): locks and elections on etcd v3 through the `etcd3` client
 * (an optional peer dependency the caller installs and passes in), and fenced writes to etcd.
 *
 * @module faultline/etcd
 */
export { EtcdLockBackend } from './lock.js';
export type { EtcdLockBackendOptions } from './lock.js';
export { EtcdSession, EtcdSessionLostError, isEtcdSessionLostError } from './session.js';
export type { EtcdSessionInit } from './session.js';
export { etcdFencedPut, fenceKeyOf } from './fence.js';
