/**
 * `mirrorlens completion bash|zsh`: a shell completion script for commands, their options and
 * the words some options take, built from the commands' own help texts (so it never drifts from
 * them). Files complete everywhere else.
 */
import type { Command } from './command.js';
import { choiceOption, parseCommandArgs } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

const USAGE = `Usage: mirrorlens completion bash|zsh

Prints a completion script for the shell. To use it now:
  eval "$(mirrorlens completion bash)"        # bash
  eval "$(mirrorlens completion zsh)"         # zsh (after compinit)
To keep it, put that line in ~/.bashrc or ~/.zshrc, or save the output as
/etc/bash_completion.d/mirrorlens (bash) or as _mirrorlens in your $fpath (zsh).
`;

/** Words some options take, offered after the option. */
const VALUES: Record<string, string> = {
  '--format': 'text json html',
  '--fail-on': 'error warning info never',
  '--log-format': 'alb alb-conn nlb clb flow',
  '--outcome': 'complete no-response incomplete malformed',
  '--dir': 'client server both',
  '--capture': 'auto listen tcpdump',
  '--packet-comments': 'none gwlb all',
};

interface Spec {
  name: string;
  summary: string;
  options: string[];
}

/** The commands to complete, from the dispatcher (passed in: this module must not import main.ts). */
export interface CommandRegistry {
  names(): string[];
  load(name: string): Promise<Command>;
}

async function specs(reg: CommandRegistry): Promise<Spec[]> {
  const out: Spec[] = [];
  for (const name of reg.names()) {
    const cmd = await reg.load(name);
    const options = [...new Set(cmd.usage.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [])].sort();
    if (!options.includes('--help')) options.push('--help');
    out.push({ name, summary: cmd.summary, options });
  }
  return out;
}

function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(all: Spec[]): string {
  const cases = all.map((s) => `    ${s.name}) opts=${shellWord(s.options.join(' '))} ;;`).join('\n');
  const values = Object.entries(VALUES)
    .map(([o, v]) => `    ${o}) COMPREPLY=( $(compgen -W ${shellWord(v)} -- "$cur") ); return ;;`)
    .join('\n');
  return `# bash completion for mirrorlens: eval "$(mirrorlens completion bash)"
_mirrorlens() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${shellWord(all.map((s) => s.name).join(' '))} -- "$cur") )
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
${cases}
    *) opts='--help' ;;
  esac
  case "$prev" in
${values}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    return
  fi
  COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -o filenames -o bashdefault -F _mirrorlens mirrorlens
`;
}

export function zshScript(all: Spec[]): string {
  const zq = (s: string): string => shellWord(s.replace(/:/g, '\\:'));
  const commands = all.map((s) => `    ${zq(`${s.name}:${s.summary}`)}`).join('\n');
  const cases = all.map((s) => `    ${s.name}) opts=(${s.options.join(' ')}) ;;`).join('\n');
  const values = Object.entries(VALUES)
    .map(([o, v]) => `    ${o}) compadd -- ${v}; return ;;`)
    .join('\n');
  return `#compdef mirrorlens
# zsh completion for mirrorlens: eval "$(mirrorlens completion zsh)" (after compinit)
_mirrorlens() {
  local -a commands opts
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'mirrorlens command' commands
    return
  fi
  case $words[2] in
${cases}
    *) opts=(--help) ;;
  esac
  case $words[CURRENT-1] in
${values}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef _mirrorlens mirrorlens; fi
`;
}

export function completionCommand(reg: CommandRegistry): Command {
  return {
    summary: 'print a bash or zsh completion script: eval "$(mirrorlens completion bash)"',
    usage: USAGE,
    async run(argv, io) {
      const { positionals } = parseCommandArgs('completion', argv, {});
      if (positionals.length !== 1) throw new MirrorlensError(ErrorCode.Usage, "name one shell: bash or zsh (see 'mirrorlens completion --help')");
      const shell = choiceOption('completion', 'shell', positionals[0], ['bash', 'zsh'] as const, 'bash');
      const all = await specs(reg);
      io.stdout.write(shell === 'bash' ? bashScript(all) : zshScript(all));
      return 0;
    },
  };
}
