/**
 * Loads an optional peer dependency (`pg`, `ioredis`, `@socket.io/redis-streams-adapter`) the
 * moment a setting needs it, so that the embedded default runs with none of them installed. A
 * missing one fails the start with a message that names the package and the setting.
 *
 * @param name The package, as `npm install` takes it.
 * @param neededFor What needs it, for the message (e.g. "redisUrl").
 */
export function requireOptionalPeer<T>(name: string, neededFor: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${name}'`)) {
      throw new Error(`${neededFor} needs the package '${name}', which is not installed: run npm install ${name}`, { cause: err });
    }
    throw err;
  }
}
