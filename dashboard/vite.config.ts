import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/** `vite dev` talks to a hub running on JG_HUB_URL (default http://localhost:8080). */
const hub = process.env.JG_HUB_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/socket.io': { target: hub, ws: true, changeOrigin: true },
      '/api': { target: hub, changeOrigin: true },
      '/healthz': { target: hub, changeOrigin: true },
    },
  },
  build: { target: 'es2022', chunkSizeWarningLimit: 800 },
});
