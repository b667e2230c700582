/**
 * The `itemvec` command line run in the test's own process: what it printed and the exit code it
 * chose, as a shell would see them, without the second or two a tsx subprocess costs to start.
 * Use a real process (src/cli/bin.ts) only when the process itself is under test: signals, kills,
 * locks between processes, a served port, everything a process writes to its file descriptors.
 */
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';

/** What follows process.execPath to run src/cli/bin.ts in a process of its own, through tsx. */
export const CLI_PROCESS_ARGS: readonly string[] = ['--import', 'tsx', fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url))];

export interface CliResult {
  exitCode: number;
  stdout: string;
  /** Messages and JSON log lines, interleaved as they were written. */
  stderr: string;
}

/** `env` replaces the environment the command reads; like a subprocess given a clean environment, nothing of the test's own leaks in. */
export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const logs = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      stderr += chunk;
      done();
    },
  });
  const exitCode = await main(args, {
    env: options.env ?? {},
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stderrIsTTY: false,
    logs,
    exit: (code) => {
      throw new Error(`itemvec ended the process (exit ${code}): run this command in a real process`);
    },
  });
  return { exitCode, stdout, stderr };
}
