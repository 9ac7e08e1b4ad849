/** The resolved options (defaults applied) of the pipeline. */
export const PIPELINE_OPTIONS = Symbol('PIPELINE_OPTIONS');
/**
 * The {@link RunStore} of the pipeline: the database `databaseUrl` names, seen through the write
 * buffer, so that every read sees what this node has written so far (see `BufferedRunStore`).
 */
export const RUN_STORE = Symbol('RUN_STORE');
/**
 * @internal The database's own {@link RunStore}, which the write buffer writes to. Its reads miss
 * what is still buffered: read through {@link RUN_STORE}.
 */
export const KYSELY_RUN_STORE = Symbol('KYSELY_RUN_STORE');
