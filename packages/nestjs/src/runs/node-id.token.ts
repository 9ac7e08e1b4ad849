/** This process's node id (a string), as stamped on the runs it executes. */
export const NODE_ID = Symbol('NODE_ID');
