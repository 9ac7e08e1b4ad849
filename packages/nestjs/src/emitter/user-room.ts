/** The Socket.IO room of every socket (tab, device) of one user. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}
