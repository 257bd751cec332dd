import { redirect } from '@sveltejs/kit';

/** The root of the dashboard is the wall. */
export function load(): never {
  redirect(307, '/wall');
}
