#!/usr/bin/env node
// A demo agent: reads its task, comments, "works" for a moment, then moves the task to Done.
// It uses only `dispatcher task ...`, which talks to the dispatcher's local API: no tracker
// credentials, no config file.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/dispatcher.js', import.meta.url));
const dispatcher = (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const [taskId = process.env.DISPATCHER_TASK_ID, taskName = process.env.DISPATCHER_TASK_NAME] = process.argv.slice(2);

const task = JSON.parse(dispatcher('task', 'show', taskId, '--json'));
console.log(`demo agent: working on #${task.id} "${taskName}" (${task.description.length} characters of description)`);
dispatcher('task', 'comment', taskId, `Demo agent picked this up: "${task.name}".`);
await new Promise((resolve) => setTimeout(resolve, 1000));
dispatcher('task', 'comment', taskId, 'Done: nothing real was changed, this is the demo agent.');
dispatcher('task', 'move', taskId, 'Done');
console.log(`demo agent: moved #${taskId} to Done`);
