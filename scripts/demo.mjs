// `npm run demo`: copies examples/ to a fresh .demo/ folder and runs the daemon there, so the
// example board in git stays as it is. Stop it with Ctrl-C.
import { cpSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

rmSync('.demo', { recursive: true, force: true });
cpSync('examples', '.demo', { recursive: true, filter: (source) => !source.includes('.dispatcher') });
const args = ['bin/dispatcher.js', 'run', '--config', '.demo/dispatcher.toml', ...process.argv.slice(2)];
console.log(`$ dispatcher ${args.slice(1).join(' ')}\n(board: .demo/board.json; watch it change, or run \`node bin/dispatcher.js status --config .demo/dispatcher.toml\`)`);
process.exit(spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1);
