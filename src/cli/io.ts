/**
 * What a command may touch of the process it runs in. Commands receive it instead of reaching for
 * process.stdout, process.env or process.exit, so that a test can run them in-process and read
 * what they printed and the exit code they chose.
 */

export interface TextSink {
  write(text: string): unknown;
}

export interface CliIO {
  env: NodeJS.ProcessEnv;
  /** Results: text, or one JSON object with --json. */
  stdout: TextSink;
  /** Messages for the person at the terminal: errors, usage. */
  stderr: TextSink;
  /** A person is watching stderr: draw a progress bar, log only warnings. */
  stderrIsTTY: boolean;
  /** JSON log lines; unset, file descriptor 2, written synchronously so a crash loses none. */
  logs?: NodeJS.WritableStream;
  /** A command that finished without an error but must not exit 0 (6: failure rate above the threshold, 8: a distributed run failed) sets this. */
  exitCode?: number;
  /** Ends the process now; for a worker whose abandoned shards would otherwise keep it alive. */
  exit(code: number): void;
}

export function processIO(): CliIO {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: Boolean(process.stderr.isTTY),
    exit: (code) => process.exit(code),
  };
}
