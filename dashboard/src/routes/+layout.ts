// A single-page app: the hub serves build/index.html for every client route.
export const ssr = false;
export const prerender = false;
