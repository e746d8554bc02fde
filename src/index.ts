/**
 * The package entry: s2-lite inside your own process, for integration tests and tools
 * (docs/embedding.md). ESM only: CommonJS code loads it with `await import('s2-lite')`.
 *
 *   const lite = await S2Lite.start();          // in memory, 127.0.0.1, a free port
 *   const s2 = new S2(lite.sdkOptions);          // @s2-dev/streamstore
 *   await lite.reset();                          // between tests
 *   await lite.stop();
 */
export { S2Lite, type S2LiteSdkOptions, type StopOptions } from './lite/lite.js';
export { OptionError, type LogLevel, type S2LiteOptions, type StorageMode } from './lite/options.js';
