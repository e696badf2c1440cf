import fs from 'node:fs';
for (const f of fs.readdirSync(process.argv[2])) {
  const p = JSON.parse(fs.readFileSync(`${process.argv[2]}/${f}`));
  const self = new Map();
  const dt = p.timeDeltas; const idx = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let total = 0;
  for (const [id, c] of counts) { const n = idx.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + c); total += c; }
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, c]) => a + c, 0);
  console.log(f, 'samples', total, 'busy', ((1 - idle / total) * 100).toFixed(0) + '%');
  for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log('  ', (c / total * 100).toFixed(1), k);
}
