export default async function globalTeardown() {
  await globalThis.s2lite.stop();
}
