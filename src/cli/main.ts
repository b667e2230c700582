/**
 * The `itemvec` command line: a thin layer over the library (src/index.ts). Every command prints
 * human-readable text, or one JSON object with --json; logs go to stderr as JSON lines.
 * Importing this runs nothing: bin.ts is the executable, tests call main() or buildProgram().
 */
import { Command, CommanderError } from 'commander';
import { ENV_VARIABLES } from '../config-env.js';
import { ExitCode, errorMessage, ItemvecError } from '../errors.js';
import { VERSION } from '../version.js';
import { addEnqueueCommand } from './commands/enqueue.js';
import { addEvalCommand } from './commands/eval.js';
import { addFailuresCommand } from './commands/failures.js';
import { addKeysCommand } from './commands/keys.js';
import { addMigrateCommand } from './commands/migrate.js';
import { addRunCommand } from './commands/run.js';
import { addRunsCommand } from './commands/runs.js';
import { addScheduleCommand } from './commands/schedule.js';
import { addSearchCommand } from './commands/search.js';
import { addServeCommand } from './commands/serve.js';
import { addSimilarCommand } from './commands/similar.js';
import { addStatusCommand } from './commands/status.js';
import { addVersionsCommand } from './commands/versions.js';
import { addWorkerCommand } from './commands/worker.js';
import { type CliIO, processIO } from './io.js';
import { EXIT_CODES } from './options.js';

/** In the order `itemvec --help` lists them. */
const COMMANDS: Array<(program: Command, io: CliIO) => void> = [
  addRunCommand,
  addSimilarCommand,
  addSearchCommand,
  addVersionsCommand,
  addFailuresCommand,
  addMigrateCommand,
  addServeCommand,
  addKeysCommand,
  addEnqueueCommand,
  addWorkerCommand,
  addScheduleCommand,
  addRunsCommand,
  addStatusCommand,
  addEvalCommand,
];

/** The "Environment:" section of --help, from the table the config loader reads. */
function environmentHelp(): string {
  const width = Math.max(...ENV_VARIABLES.map((v) => v.name.length));
  return `\nEnvironment:\n${ENV_VARIABLES.map((v) => `  ${v.name.padEnd(width)}  ${v.help}`).join('\n')}`;
}

export function buildProgram(io: CliIO = processIO()): Command {
  const program = new Command('itemvec')
    .description('Turn a retail catalog into embeddings in Postgres + pgvector and find similar items.')
    .version(VERSION)
    // Before any command is added: commands copy the output settings of their parent when created.
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    // Program options only before the command: `itemvec run --version v2` is the run's --version, not this one.
    .enablePositionalOptions()
    .showHelpAfterError()
    // Throw instead of exiting so bad flags get exit code 2 like every other usage error (inherited by subcommands).
    .exitOverride()
    .addHelpText('after', `${environmentHelp()}\n${EXIT_CODES}`);
  for (const addCommand of COMMANDS) addCommand(program, io);
  return program;
}

/** Runs one command line (the arguments after `itemvec`) and returns its exit code. */
export async function main(args: readonly string[] = process.argv.slice(2), io: CliIO = processIO()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(args, { from: 'user' });
    return io.exitCode ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help / version text).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof ItemvecError) {
      io.stderr.write(`itemvec: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`itemvec: unexpected error: ${errorMessage(err)}\n${err instanceof Error && err.stack ? err.stack : ''}\n`);
    return ExitCode.unexpected;
  }
}
