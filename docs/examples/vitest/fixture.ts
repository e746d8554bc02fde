import { S2 } from '@s2-dev/streamstore';
import { S2Lite } from 's2-lite';
import { test as base } from 'vitest';

export const test = base.extend<{ lite: S2Lite; s2: S2 }>({
  // One server per test file, started when a test first needs it (milliseconds, in memory).
  lite: [
    async ({}, use) => {
      const lite = await S2Lite.start();
      await use(lite);
      await lite.stop();
    },
    { scope: 'file' },
  ],
  // Every test that asks for `s2` starts from an empty server.
  s2: async ({ lite }, use) => {
    await lite.reset();
    await use(new S2(lite.sdkOptions));
  },
});
