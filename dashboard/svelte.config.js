import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * The dashboard is a single-page app: adapter-static writes build/ with one fallback page
 * (index.html). The hub serves build/ as static files and answers every other non-API path with
 * build/index.html, so /wall and future routes resolve on the client.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: false, strict: true }),
  },
};

export default config;
