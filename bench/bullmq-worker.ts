// A BullMQ worker process for bench:tasks: no-op jobs, or jobs that run `sleep <seconds>` as a child.
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';

const [port, queue, concurrency, mode] = process.argv.slice(2);
const worker = new Worker(
  queue,
  async (job) => {
    if (mode !== 'sleep') return 'ok';
    await new Promise<void>((resolve, reject) => {
      const child = spawn('sleep', [String(job.data.seconds)], { stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    });
    return 'ok';
  },
  { connection: { host: '127.0.0.1', port: Number(port) }, concurrency: Number(concurrency) },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
