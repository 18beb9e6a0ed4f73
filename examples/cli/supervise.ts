// Training runs in a child process of its own, so Ctrl-C in a terminal always ends with a checkpoint.
//
// A terminal sends SIGINT to every process of its foreground group: npm, the shell npm starts, tsx's
// CLI and the node process under it; npm and tsx each relay it once more. tsx's CLI also gives its
// child 60 ms to answer before it sends SIGKILL, and a process busy in a training step (JavaScript
// sees signals only between steps) cannot answer. So the process the user started stays idle: it
// starts the trainer in a new process group (where the terminal's signals do not reach it),
// answers every signal at once, and forwards one per key press: signals within PRESS_MS of a
// forwarded one are the same press, relayed.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const TRAINER_ENV = 'ONESTEP_TRAINER_PROCESS';
const PRESS_MS = 500;

/** True in the trainer process (or where the user asked to train in this process: ONESTEP_TRAINER_PROCESS=1). */
export const inTrainerProcess = (): boolean => process.env[TRAINER_ENV] === '1';

/** Node's flags for the trainer: the user's, with tsx's loader given once by its resolved address. */
function nodeFlags(): string[] {
  const flags: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i]!;
    const takesValue = (flag === '--import' || flag === '--require' || flag === '--loader') && i + 1 < process.execArgv.length;
    const value = takesValue ? process.execArgv[i + 1]! : flag;
    if (/\btsx\b/.test(value)) {
      if (takesValue) i++;
      continue;
    }
    flags.push(flag);
  }
  return [...flags, '--import', import.meta.resolve('tsx')];
}

/**
 * Runs this script again with the same arguments as the trainer process and returns its exit code;
 * SIGINT, SIGTERM and SIGHUP (as SIGTERM) are forwarded, one per press.
 */
export function superviseTrainer(): Promise<number> {
  const child = spawn(process.execPath, [...nodeFlags(), ...process.argv.slice(1)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true, env: { ...process.env, [TRAINER_ENV]: '1' },
  });
  let forwarded = -Infinity;
  const forward = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (now - forwarded < PRESS_MS) return;
    forwarded = now;
    child.kill(signal);
  };
  const onInt = () => forward('SIGINT'), onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt).on('SIGTERM', onTerm).on('SIGHUP', onTerm);
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm).off('SIGHUP', onTerm);
      done(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/**
 * In the trainer process: calls `onLost` when the process that started it is gone (the IPC channel
 * closes: it was killed, or the terminal closed), so the run can stop with a checkpoint; the
 * channel does not keep the process alive.
 */
export function watchSupervisor(onLost: () => void): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', onLost);
}
