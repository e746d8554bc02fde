import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One s2-lite for the whole run (see global-setup.ts).
    globalSetup: ['./global-setup.ts'],
  },
});
