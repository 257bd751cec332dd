/**
 * People by name in exports: a sheet read away from the screens still says who, not which login.
 * A username stays beside the display name (two people may share a name); an actor that is not a
 * person (a collector, a wall token) is named by its kind.
 */
import type { Store } from '../store/store.js';
import { listUsers } from './users.js';

export type PersonNamer = (username: string) => string;

/** Loads the accounts once for a whole export. */
export async function personNamer(store: Store): Promise<PersonNamer> {
  const names = new Map((await listUsers(store)).map((u) => [u.username, u.displayName]));
  return (username) => {
    if (!username) return '';
    const display = names.get(username);
    if (display) return display === username ? display : `${display}（${username}）`;
    if (username.startsWith('collector:')) return `采集终端 ${username.slice('collector:'.length)}`;
    if (username.startsWith('kiosk:')) return `大屏令牌 ${username.slice('kiosk:'.length)}`;
    return username;
  };
}
