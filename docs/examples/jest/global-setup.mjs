import { S2Lite } from 's2-lite';

// One s2-lite for the whole run. Test files find it through the S2_* environment, which jest's
// workers inherit; globalTeardown runs in this same process and stops it.
export default async function globalSetup() {
  const lite = await S2Lite.start();
  Object.assign(process.env, lite.env);
  globalThis.s2lite = lite;
}
