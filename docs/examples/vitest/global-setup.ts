import { S2Lite } from 's2-lite';
import type { TestProject } from 'vitest/node';

let lite: S2Lite;

export async function setup(project: TestProject) {
  lite = await S2Lite.start(); // in memory, on a free port: parallel runs never collide
  project.provide('s2Endpoint', lite.endpoint);
  // Code under test that reads S2_ACCOUNT_ENDPOINT & co. (S2Environment.parse()) finds it too:
  // the test workers start after this and inherit the environment.
  Object.assign(process.env, lite.env);
}

export async function teardown() {
  await lite.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    s2Endpoint: string;
  }
}
