/**
 * The MariaDB adapter (`faultline/mariadb`): a two-phase-commit participant over XA, through the
 * `mariadb` client (an optional peer dependency the caller installs and passes in).
 *
 * @module faultline/mariadb
 */
export { MariadbBranch, MariadbParticipant, XaStillAttachedError } from './xa.js';
export type { MariadbParticipantOptions } from './xa.js';
