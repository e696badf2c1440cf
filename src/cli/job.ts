// `rota job …` and `rota task add`: submit matrix jobs, follow them with a progress bar, read results.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { JobStatus, RotaClient } from '../client/types.js';
import { parseLabels } from '../engine/model.js';
import { LIMITS } from '../engine/input-limits.js';
import { ProgressView, formatDuration } from './progress.js';
import { formatTable } from './table.js';
import { clientFor, withApi, type ApiOptions } from './api-options.js';

/** Follows a job until it is done or cancelled; returns its last status. */
export async function watchJob(client: RotaClient, given: string, view = new ProgressView()): Promise<JobStatus> {
  const id = (await client.getJob(given)).id; // the whole id, once (it may be given by its start)
  for (;;) {
    const job = await client.getJob(id);
    view.show(job);
    if (job.finishedAt !== undefined || job.state === 'cancelled' || job.done === job.total) {
      view.end();
      return job;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Exit codes of `rota job results` (and of watch/submit --wait, which wait for the end). */
export const RESULTS_EXIT = { succeeded: 0, failed: 1, unfinished: 2 } as const;

/** The exit code a job's results give: 0 every task succeeded, 1 any did not, 2 not finished yet. */
export function resultsExitCode(total: number, tasks: Array<{ status: string }>): number {
  const finished = tasks.length === total && tasks.every((t) => t.status !== 'pending' && t.status !== 'running');
  if (!finished) return RESULTS_EXIT.unfinished;
  return tasks.every((t) => t.status === 'succeeded') ? RESULTS_EXIT.succeeded : RESULTS_EXIT.failed;
}

/**
 * Prints a job's results; returns the exit code they give (resultsExitCode). With `wait`, first
 * follows the job (progress on stderr) until every task has its result.
 */
async function printResults(client: RotaClient, given: string, json: boolean, wait: boolean): Promise<number> {
  const view = new ProgressView(process.stderr);
  const id = (await client.getJob(given)).id;
  for (;;) {
    const job = await client.getJob(id);
    const tasks = await client.jobTasks(id);
    const code = resultsExitCode(job.total, tasks);
    if (code === RESULTS_EXIT.unfinished && wait) {
      view.show(job);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (wait) view.end();
    if (json) console.log(JSON.stringify(tasks, null, 2));
    else {
      const axes = [...new Set(tasks.flatMap((t) => Object.keys(t.values)))];
      console.log(
        formatTable(
          ['TASK', 'STATUS', 'DURATION', 'ATTEMPTS', ...axes.map((a) => a.toUpperCase())],
          tasks.map((t) => [t.id, t.status, t.result?.durationMs !== undefined ? formatDuration(t.result.durationMs) : undefined, t.attempts, ...axes.map((a) => t.values[a])]),
        ),
      );
    }
    if (code === RESULTS_EXIT.unfinished) {
      const done = tasks.filter((t) => t.status !== 'pending' && t.status !== 'running').length;
      console.error(`job ${id} has not finished: ${done} of ${job.total} tasks done${job.counts.failed ? `, ${job.counts.failed} failed so far` : ''} (exit 2; --wait waits for the end)`);
    }
    return code;
  }
}

/** Adds the job and task commands. */
export function registerJobs(program: Command): void {
  const job = program.command('job').description('submit and follow matrix jobs');
  withApi(job.command('submit <file>'))
    .description('submit a job spec (JSON or YAML; "-" reads stdin); prints the job id')
    .option('--wait', 'follow it to the end; exit 1 unless every task succeeded')
    .action(async (file: string, opts: ApiOptions & { wait?: boolean }) => {
      const client = clientFor(opts);
      const submitted = await client.submitJob(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
      console.log(submitted.id);
      if (!opts.wait) return;
      const done = await watchJob(client, submitted.id);
      if (done.counts.succeeded < done.total) process.exitCode = 1;
    });
  withApi(job.command('watch <id>'))
    .description('follow a job: a progress bar on a terminal, plain lines when piped')
    .action(async (id: string, opts: ApiOptions) => {
      const done = await watchJob(clientFor(opts), id);
      if (done.counts.succeeded < done.total) process.exitCode = 1;
    });
  withApi(job.command('results <id>'))
    .description('a table of the tasks: status, duration, attempts, matrix values')
    .option('--json', 'print JSON (with output tails)')
    .option('--wait', 'wait until the job has finished (a progress bar on stderr), then print')
    .addHelpText(
      'after',
      '\nExit status:\n  0  the job has finished and every task succeeded\n  1  the job has finished and a task failed or was cancelled\n  2  the job has not finished yet (tasks pending, running or waiting for a retry); --wait waits for the end\n\n' +
        'So `rota job results $JOB && deploy` deploys only a finished, fully successful job.',
    )
    .action(async (id: string, opts: ApiOptions & { json?: boolean; wait?: boolean }) => {
      process.exitCode = await printResults(clientFor(opts), id, Boolean(opts.json), Boolean(opts.wait));
    });
  withApi(job.command('ls'))
    .description('list jobs with their progress')
    .option('--json', 'print JSON')
    .action(async (opts: ApiOptions) => {
      const jobs = await clientFor(opts).listJobs();
      if (opts.json) return console.log(JSON.stringify(jobs, null, 2));
      console.log(formatTable(['JOB', 'STATE', 'DONE', 'OK', 'FAILED', 'RUNNING'], jobs.map((j) => [j.id, j.finishedAt ? 'done' : j.state, `${j.done}/${j.total}`, j.counts.succeeded, j.counts.failed, j.counts.running])));
    });
  withApi(job.command('cancel <id>'))
    .description('cancel what has not finished; running tasks are stopped')
    .action(async (id: string, opts: ApiOptions) => {
      const j = await clientFor(opts).cancelJob(id);
      console.log(`cancelled ${j.id}: ${j.counts.cancelled} tasks`);
    });
  withApi(job.command('rm <id>'))
    .description('delete a job: its tasks, their results and attempts (running tasks are stopped)')
    .action(async (id: string, opts: ApiOptions) => {
      await clientFor(opts).deleteJob(id);
      console.log(`deleted ${id}`);
    });

  const task = program.command('task').description('single tasks');
  withApi(task.command('add'))
    .description('run a command to its end as a task (or one task per line of a file); prints the ids')
    .option('--exec <command>', 'the command (run with sh -c)')
    .option('--from <file>', 'one command per line (run with sh -c; blank lines and # comments skipped; - for stdin), sent in bulks of 1000, each all or nothing')
    .option('--id <id>', 'choose the id')
    .option('--timeout <ms>', 'kill it after this long', (v) => Number(v))
    .option('--attempts <n>', 'attempts before it fails for good (default 3)', (v) => Number(v))
    .option('--selector <k=v,...>', 'only workers with these labels may run it')
    .option('--wait', 'wait for the result, print its output, exit with its status')
    .action(async (opts: ApiOptions & { exec?: string; from?: string; id?: string; timeout?: number; attempts?: number; selector?: string; wait?: boolean }) => {
      if ((opts.exec === undefined) === (opts.from === undefined)) throw new Error('give the command with --exec, or a file of commands with --from (one of them)');
      if (opts.from !== undefined && (opts.id !== undefined || opts.wait)) throw new Error('--id and --wait take one command (--exec); for many commands with a wait, use a job: rota job submit FILE --wait');
      const client = clientFor(opts);
      const taskOf = (command: string) => ({
        content: command,
        kind: 'task' as const,
        command: ['/bin/sh', '-c', command],
        timeoutMs: opts.timeout,
        maxAttempts: opts.attempts,
        selector: opts.selector ? parseLabels(opts.selector) : undefined,
      });
      if (opts.from !== undefined) {
        const text = fs.readFileSync(opts.from === '-' ? 0 : opts.from, 'utf8');
        const commands = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
        if (commands.length === 0) throw new Error(`${opts.from} holds no command (one per line; blank lines and # comments are skipped)`);
        for (let i = 0; i < commands.length; i += LIMITS.bulkItems) {
          for (const v of await client.addWork(commands.slice(i, i + LIMITS.bulkItems).map(taskOf))) console.log(v.id);
        }
        return;
      }
      const view = await client.addWork({ ...taskOf(opts.exec!), id: opts.id });
      console.log(view.id);
      if (!opts.wait) return;
      for (;;) {
        const w = await client.getWork(view.id);
        if (w.result) {
          process.stdout.write(w.result.output.endsWith('\n') || !w.result.output ? w.result.output : `${w.result.output}\n`);
          console.error(`${w.id} ${w.result.status} (${w.result.reason}${w.result.exitCode !== null ? ` ${w.result.exitCode}` : ''}) after ${w.result.attempts} attempt(s)`);
          if (w.result.status !== 'succeeded') process.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    });
}
