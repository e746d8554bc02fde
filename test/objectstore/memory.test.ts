import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { runObjectStoreContract } from './contract.js';

runObjectStoreContract('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => {} }));
