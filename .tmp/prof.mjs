import inspector from 'node:inspector'; import fs from 'node:fs';
const s = new inspector.Session(); s.connect();
s.post('Profiler.enable'); s.post('Profiler.start');
process.on('exit', () => { s.post('Profiler.stop', (err, r) => fs.writeFileSync(`/work/main/.tmp/prof/${process.pid}.cpuprofile`, JSON.stringify(r.profile))); });
