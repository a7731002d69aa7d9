// Empties a build output directory before a build, so files of an older tree (a renamed or deleted module) are never
// shipped next to the new ones.
import { rmSync } from 'node:fs';

const target = process.argv[2];
if (!target) throw new Error('usage: node tools/clean-dir.mjs <dir>');
rmSync(target, { recursive: true, force: true });
