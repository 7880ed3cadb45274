// Placeholder until the `replay` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'replay',
  usage: 'mirrorlens replay: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'replay: not built yet');
  },
};
