// A child of the guard runs as the leader of a process group of its own, and the whole group is
// what gets signalled: the command, and whatever it started that stayed in its group.
//
// The leader is a tiny /bin/sh that makes the group end with the guard, however the guard ends
// (SIGKILL of the guard, of its process group, OOM): it holds one end of a socket whose other end
// only the guard holds (fd 3), and a watcher in the group waits on it; when the guard is gone the
// kernel closes its end, the read returns, and the watcher SIGKILLs the group. There is no window:
// if the guard died before the watcher started reading, the read returns at once.
// (Linux's parent-death signal, `setpriv --pdeathsig`, was the other candidate: it reaches only the
// direct child, is lost if the parent dies before it is armed, and a shell cannot act on it while a
// foreground command runs; the socket needs no util-linux and works on any Unix.)
//   - the watcher ignores TERM/INT/HUP, so a graceful stop (SIGTERM to the group) leaves it in place;
//   - the leader catches TERM with a no-op (caught, not ignored: the command gets the default back),
//     waits for the command and reports its status on fd 3;
//   - the command runs through `exec` in a subshell: argv exactly as given (no shell builtins), its
//     own stdin/stdout/stderr, and neither fd 3 nor the leader's job messages ("Terminated").
import { constants } from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

const LEADER = [
  "( trap '' TERM INT HUP; read -r _ <&3; kill -9 0 ) </dev/null >/dev/null 2>&1 &",
  'trap : TERM',
  'exec 4>&2 2>/dev/null',
  '( exec "$@" 2>&4 3<&- 4<&- )',
  'echo "exit $?" >&3',
].join('\n');

/** The argv (for /bin/sh) that runs `command` under a group leader that ends with the guard. */
export function leaderArgs(command: string[]): string[] {
  return ['-c', LEADER, 'rota-child', ...command];
}

/** Why `file` cannot be run as a command in `env` and `cwd` (as execvp would see it), or undefined. */
export function cannotRun(file: string | undefined, env: NodeJS.ProcessEnv, cwd?: string): string | undefined {
  if (!file) return 'no command';
  if (cwd !== undefined && !isDir(cwd)) return `working directory ${cwd} does not exist`;
  const candidates = file.includes('/') ? [path.resolve(cwd ?? '.', file)] : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((d) => path.resolve(cwd ?? '.', d || '.', file));
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return undefined;
    } catch {
      // not here
    }
  }
  return `${file}: no such executable`;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Default actions that end a process: a status of 128+n means the command died of n. */
const FATAL = new Set(['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR', 'SIGSYS']);

/** The command's end from the leader's report "exit N" (the shell's 128+n for a signal). */
export function parseStatus(line: string): { code: number | null; signal: string | null } | undefined {
  const m = /^exit (\d+)$/.exec(line);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n > 128) {
    const name = Object.entries(constants.signals).find(([k, v]) => v === n - 128 && FATAL.has(k))?.[0];
    if (name) return { code: null, signal: name };
  }
  return { code: n, signal: null };
}

/** Sends `signal` to process group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any process of group `pgid` still runs (zombies waiting for a reaper do not count). */
export function groupAlive(pgid: number | undefined): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true; // no /proc: trust kill(2)
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
