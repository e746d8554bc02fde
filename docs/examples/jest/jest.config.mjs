export default {
  testEnvironment: 'node',
  transform: {}, // plain ES modules: run jest with NODE_OPTIONS=--experimental-vm-modules
  testMatch: ['**/*.test.mjs'],
  globalSetup: './global-setup.mjs',
  globalTeardown: './global-teardown.mjs',
};
