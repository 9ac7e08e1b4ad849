/** The resolved options (defaults applied) of the pipeline. */
export const PIPELINE_OPTIONS = Symbol('PIPELINE_OPTIONS');
/** The {@link RunStore} implementation chosen by `databaseUrl`. */
export const RUN_STORE = Symbol('RUN_STORE');
