import { embeddedRota, etcdRota } from './task-systems.js';
const N = Number(process.env.N ?? 20000);
for (const make of (process.env.TP ?? 'embedded').split(',').map((k) => (k === 'etcd' ? () => etcdRota(2, 50) : () => embeddedRota(2, 50)))) {
  const sys = await make();
  let done = 0; let all!: () => void; const fin = new Promise<void>((r) => (all = r));
  sys.onFinished(() => ++done === N && all());
  const t = performance.now();
  for (let i = 0; i < N; i += 2000) await sys.submitBulk(Array.from({ length: 2000 }, () => ({})));
  await fin;
  console.log(sys.name, Math.round(N / ((performance.now() - t) / 1000)), 'tasks/s');
  await sys.close();
}
