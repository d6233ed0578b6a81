/** How a benchmark script runs: its exit code, a bad setting reported as such (exit 2). */

/** A setting the user got wrong: its message is all they need, without a stack. */
export class SettingsError extends Error {}

/** Runs `main` and sets the exit code: its own, 2 for a bad setting, 1 for anything else. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // A bad setting is reported as such; anything else with its stack.
      console.error(error instanceof SettingsError ? error.message : error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = error instanceof SettingsError ? 2 : 1;
    },
  );
}
