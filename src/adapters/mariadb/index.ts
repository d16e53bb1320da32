/**
 * The MariaDB adapter (`faultline/mariadb`): a two-phase-commit participant over XA and InnoDB's
 * lock waits as wait-for edges, through the `mariadb` client (an optional peer dependency the
 * caller installs and passes in).
 *
 * @module faultline/mariadb
 */
export { MariadbBranch, MariadbParticipant, XaStillAttachedError } from './xa.js';
export type { MariadbParticipantOptions } from './xa.js';
// Deadlocks across databases (issue 14).
export { cancelMariadbWait, mariadbWaitForEdges } from './wait-for.js';
export type { MariadbQueryable, MariadbWaitForOptions } from './wait-for.js';
