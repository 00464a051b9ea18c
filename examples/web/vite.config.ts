import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Relative asset paths: the built app is a folder any static server (or CDN) can serve.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false },
});
