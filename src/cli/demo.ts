/**
 * `mirrorlens demo` (npm run demo): analyzes the bundled example that `mirrorlens lab run
 * idle-reset` produced (examples/idle-reset/: the mirrored capture, the client's TLS key log and
 * the ALB access log) and prints the verdict. No root, no network.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from './command.js';
import { choiceOption, parseCommandArgs } from './command.js';
import { analyze } from '../analyze/analyze.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { failsOn, render } from './analyze.js';
import { EXIT } from './exit.js';

/** The repository's examples/ folder (this file is dist/cli/demo.js or src/cli/demo.ts). */
function examplesDir(): string {
  return resolve(import.meta.dirname, '../../examples');
}

export function exampleInputs(dir: string): { captures: string[]; keylogs: string[]; albLogs: string[] } {
  if (!existsSync(dir)) throw new MirrorlensError(ErrorCode.FileOpen, 'the bundled example is missing', { file: dir });
  const files = readdirSync(dir).sort();
  const pick = (re: RegExp) => files.filter((f) => re.test(f)).map((f) => join(dir, f));
  const captures = pick(/\.(pcapng|pcap)(\.gz)?$/);
  const keylogs = pick(/(key|secret).*\.(log|txt)$/i);
  const albLogs = pick(/^alb.*\.log(\.gz)?$/i);
  if (captures.length === 0) throw new MirrorlensError(ErrorCode.FileOpen, 'no capture in the bundled example', { file: dir });
  return { captures, keylogs, albLogs };
}

export const command: Command = {
  summary: 'analyze the bundled example (capture + key log + ALB log) and print the verdict',
  usage: `Usage: mirrorlens demo [--format text|json|html] [--example NAME] [--fail-on LEVEL]

Runs 'mirrorlens analyze' on the example in examples/NAME (default idle-reset), produced by
'sudo mirrorlens lab run idle-reset': an ALB (nginx) in front of an NLB (conntrack) whose idle
timeout expired on a pooled connection, mirrored with kernel VXLAN into 'mirrorlens listen'.
Exits as analyze does: 0 whatever was found, unless --fail-on error|warning|info
names a level a finding reached (then 1).
`,
  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      format: { type: 'string' },
      example: { type: 'string' },
      'no-color': { type: 'boolean' },
      'fail-on': { type: 'string' },
    });
    const format = choiceOption('demo', 'format', values.format as string | undefined, ['text', 'json', 'html'] as const, 'text');
    const failOn = choiceOption('demo', 'fail-on', values['fail-on'] as string | undefined, ['error', 'warning', 'info', 'never'] as const, 'never');
    const name = (values.example as string | undefined) ?? 'idle-reset';
    const dir = join(examplesDir(), name);
    const rel = (p: string) => relative(process.cwd(), p) || p;
    const found = exampleInputs(dir);
    // Relative paths: the report names files the way the user would type them.
    const inputs = { captures: found.captures.map(rel), keylogs: found.keylogs.map(rel), albLogs: found.albLogs.map(rel) };
    io.stderr.write(
      `mirrorlens analyze ${inputs.captures.map(rel).join(' ')}${inputs.keylogs.map((k) => ` --keylog ${rel(k)}`).join('')}${inputs.albLogs.map((a) => ` --alb-log ${rel(a)}`).join('')}\n\n`,
    );
    const { report } = await analyze(inputs);
    const color = format === 'text' && Boolean(io.stdout.isTTY) && !values['no-color'] && !io.env.NO_COLOR;
    io.stdout.write(await render(report, format, color));
    // The same convention as analyze (docs/cli.md): finding nothing is an answer, not a failure.
    return failsOn(report, failOn) ? EXIT.found : EXIT.ok;
  },
};
