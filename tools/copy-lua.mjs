// Copies the Lua scripts next to the compiled broker (tsc does not copy non-TS files).
import { cpSync, mkdirSync } from 'node:fs';

const target = process.argv[2];
if (!target) throw new Error('usage: node tools/copy-lua.mjs <target dir>');
mkdirSync(target, { recursive: true });
cpSync('lib/core/broker/redis/scripts', target, { recursive: true });
