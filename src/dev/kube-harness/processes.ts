import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Server processes of a harness and the guards that keep them from outliving it.
 *
 * Every harness owns a directory under a state root. It holds `owner` (the pid + start time of the
 * process that started the harness) and `pids/<name>.pid` for each server. Two guards clean up when
 * the owner dies without calling stop() (crashed or SIGKILLed test runner):
 *  - a watchdog (tiny bash loop, its own process group) polls the owner and kills the servers;
 *  - a sweep at the next start kills what is listed in directories whose owner is gone, in case the
 *    watchdog was killed too.
 * Processes are identified by pid *and* start time (/proc/<pid>/stat), so a reused pid is never killed.
 * Linux only, like the build machines.
 */

export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

/** Start time (clock ticks since boot) of a live process; undefined when gone or a zombie. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') {
      return undefined;
    }
    return fields[19];
  } catch {
    return undefined;
  }
}

function isAlive(id: ProcessIdentity): boolean {
  return processStartTime(id.pid) === id.startTime;
}

function identityLine(id: ProcessIdentity): string {
  return `${id.pid} ${id.startTime}\n`;
}

function parseIdentity(text: string): ProcessIdentity | undefined {
  const [pid, startTime] = text.trim().split(/\s+/);
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && startTime ? { pid: n, startTime } : undefined;
}

/** Pids (live ones) whose command line mentions `needle`, e.g. a harness directory. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle) && processStartTime(Number(entry)) !== undefined) {
        found.push(Number(entry));
      }
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function killIdentities(ids: ProcessIdentity[], graceMs: number): Promise<void> {
  const live = ids.filter(isAlive);
  for (const id of live) {
    signalGroup(id.pid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < deadline) {
    await sleep(100);
  }
  for (const id of live.filter(isAlive)) {
    signalGroup(id.pid, 'SIGKILL');
  }
  while (live.some(isAlive)) {
    await sleep(50);
  }
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited and been reaped. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A directory owned by one harness: servers are spawned through it so their pids are on disk. */
export class HarnessDir {
  private watchdog?: ManagedProcess;

  private constructor(
    readonly path: string,
    readonly root: string,
  ) {}

  /** Sweeps stale siblings, then creates a fresh directory owned by this process. */
  static async create(root: string): Promise<HarnessDir> {
    await mkdir(root, { recursive: true });
    await sweepStaleHarnesses(root);
    const id = `h-${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const path = join(root, id);
    await mkdir(join(path, 'pids'), { recursive: true });
    await writeFile(join(path, 'owner'), identityLine(selfIdentity()));
    return new HarnessDir(path, root);
  }

  /** Starts a process in its own process group, logging to logPath, and records its pid. */
  async spawn(opts: SpawnOptions): Promise<ManagedProcess> {
    const out = openSync(opts.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(opts.command, opts.args, { detached: true, stdio: ['ignore', out, out], env: opts.env ?? process.env });
    } finally {
      closeSync(out);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const pid = child.pid;
    if (pid === undefined) {
      throw new Error(`could not start ${opts.command}: ${(await spawnError).message}`);
    }
    const pidFile = join(this.path, 'pids', `${opts.name}.pid`);
    const startTime = processStartTime(pid);
    if (startTime) {
      await writeFile(pidFile, identityLine({ pid, startTime }));
    }
    let exitedFlag = false;
    void exited.then(() => (exitedFlag = true));
    return {
      name: opts.name,
      pid,
      logPath: opts.logPath,
      child,
      exited,
      stop: async (graceMs = 10_000) => {
        if (!exitedFlag) {
          signalGroup(pid, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        await rm(pidFile, { force: true });
      },
    };
  }

  /**
   * Starts the watchdog: when this process disappears it stops everything in pids/ and removes the
   * directory. It ignores SIGINT/SIGHUP so a Ctrl-C in a terminal leaves the cleanup to it.
   */
  async startWatchdog(): Promise<void> {
    const self = selfIdentity();
    this.watchdog = await this.spawn({
      name: 'watchdog',
      command: 'bash',
      args: ['-c', WATCHDOG_SCRIPT, 'farpoint-kube-harness-watchdog', String(self.pid), self.startTime, this.path],
      logPath: join(this.path, 'watchdog.log'),
    });
  }

  /** Stops the watchdog (normal shutdown) and removes the directory. */
  async remove(): Promise<void> {
    // No grace period: signalling its group takes the loop's `sleep` child too, and it has nothing to clean up.
    await this.watchdog?.stop(0);
    await rm(this.path, { recursive: true, force: true });
  }
}

function selfIdentity(): ProcessIdentity {
  const startTime = processStartTime(process.pid);
  if (!startTime) {
    throw new Error('kube harness needs /proc (Linux)');
  }
  return { pid: process.pid, startTime };
}

// $1 owner pid, $2 owner start time, $3 harness dir. Same identity rule as processStartTime().
// Apiservers go before etcd: an apiserver whose etcd is already gone takes ~10 s to shut down.
const WATCHDOG_SCRIPT = [
  'owner=$1 owner_start=$2 dir=$3',
  'start_of() { local s; s=$(cat /proc/$1/stat 2>/dev/null) || return 1; s=${s##*) }; set -- $s',
  '  case $1 in Z|X) return 1;; esac; echo "${20}"; }',
  'alive() { [ "$(start_of "$1")" = "$2" ]; }',
  'stop_all() {',
  '  local live=() f pid start p any',
  '  for f in "$@"; do',
  '    [ -e "$f" ] || continue',
  '    read -r pid start < "$f"',
  '    [ "$pid" = "$$" ] && continue',
  '    if alive "$pid" "$start"; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; live+=("$pid:$start"); fi',
  '  done',
  '  for _ in $(seq 100); do',
  '    any=',
  '    for p in "${live[@]}"; do alive "${p%%:*}" "${p#*:}" && any=1; done',
  '    [ -z "$any" ] && return',
  '    sleep 0.1',
  '  done',
  '  for p in "${live[@]}"; do alive "${p%%:*}" "${p#*:}" && kill -KILL -- "-${p%%:*}" 2>/dev/null; done',
  '}',
  "trap '' INT HUP",
  'while alive "$owner" "$owner_start"; do sleep 1; done',
  'echo "owner $owner is gone; stopping servers"',
  'servers=() store=()',
  'for f in "$dir"/pids/*.pid; do case ${f##*/} in etcd.pid) store+=("$f");; *) servers+=("$f");; esac; done',
  'stop_all "${servers[@]}"',
  'stop_all "${store[@]}"',
  'rm -rf "$dir"',
].join('\n');

/** Kills the servers of harness directories whose owner is gone and removes those directories. */
export async function sweepStaleHarnesses(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const entry of entries.filter((e) => e.startsWith('h-'))) {
    const dir = join(root, entry);
    const owner = await readFile(join(dir, 'owner'), 'utf8').then(parseIdentity, () => undefined);
    if (owner && isAlive(owner)) {
      continue;
    }
    // A directory without an owner file is either being created right now or left by a crash
    // between mkdir and writeFile; only the latter is old.
    if (!owner) {
      const age = await stat(dir).then(
        (s) => Date.now() - s.mtimeMs,
        () => Infinity,
      );
      if (age < 60_000) {
        continue;
      }
    }
    const pidDir = join(dir, 'pids');
    const files = await readdir(pidDir).catch(() => [] as string[]);
    const read = async (names: string[]) =>
      (await Promise.all(names.map((f) => readFile(join(pidDir, f), 'utf8').then(parseIdentity, () => undefined)))).filter((id): id is ProcessIdentity => id !== undefined);
    // Apiservers (and the watchdog) before etcd, as the watchdog does.
    await killIdentities(await read(files.filter((f) => f !== 'etcd.pid')), 10_000);
    await killIdentities(await read(files.filter((f) => f === 'etcd.pid')), 10_000);
    await rm(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}
