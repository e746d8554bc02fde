import { S2Lite } from 's2-lite';
import { S2 } from '@s2-dev/streamstore';

const lite = await S2Lite.start(); // in memory, on 127.0.0.1 and a free port
const s2 = new S2(lite.sdkOptions); // the official SDK, pointed at it
await s2.basins.create({ basin: 'my-basin' });
await lite.reset(); // between tests: empty again, same endpoint
await lite.stop();
