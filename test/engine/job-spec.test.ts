// Job specs as a new user writes them: slips named with the field meant, an exclude that matches
// nothing refused, and a command given as one shell line, whose matrix values the shell reads as
// data whatever they hold (checked by running sh on random values).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expandJob, parseJobSpec } from '../../src/engine/jobs/job-spec.js';
import { shellTemplate } from '../../src/engine/jobs/shell-template.js';
import { parseWorkInput } from '../../src/engine/model.js';

const refusal = (text: string) => {
  try {
    parseJobSpec(text);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`accepted: ${text}`);
};

/** What `sh -c script` prints with `env`. */
const sh = (script: string, env: Record<string, string>) => spawnSync('sh', ['-c', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).stdout;

describe('job specs as people write them', () => {
  it('names an unknown field with the one meant, on its line, before anything it left missing', () => {
    assert.equal(refusal('name: a\ncomand: [ls]\n').split(';')[0], 'line 2: unknown field "comand" (did you mean command?)');
    assert.match(refusal('name: a\ncommand: [ls]\ntimeout: 5000\n'), /^line 3: unknown field "timeout" \(did you mean timeoutMs \(milliseconds\)\?\)/);
    assert.match(refusal('name: a\ncommand: [ls]\nretries: 2\n'), /did you mean maxAttempts \(attempts in all: retries \+ 1\)\?/);
    assert.match(refusal('{"name": "a", "command": ["ls"], "matrx": {"a": [1]}}'), /unknown field "matrx" \(did you mean matrix\?\)/);
    assert.match(refusal('name: a\ncommand: [ls]\nfoo: 1\n'), /^line 3: unknown field "foo"; the fields are name, id, command/);
  });

  it('refuses an exclude that matches no task, naming the values there are', () => {
    assert.equal(refusal('name: a\ncommand: [echo, "{spec}"]\nmatrix:\n  spec: [a, b]\nexclude:\n  - {spec: c}\n'), 'line 6: exclude[0]: spec "c" matches no task (the values of spec are a, b)');
    const ok = parseJobSpec('name: a\ncommand: [echo, "{spec}"]\nmatrix:\n  spec: [a, b]\nexclude:\n  - {spec: b}\n');
    assert.deepEqual(expandJob(ok).map((t) => t.values.spec), ['a']);
  });

  it('takes a command as one shell line, sh -c around it or not, each value an argument as it is', () => {
    for (const line of ['printf "%s|" {spec} {n}', `sh -c 'printf "%s|" {spec} {n}'`, 'bash -c "printf \\"%s|\\" {spec} {n}"', "printf '%s|' {spec} {n} # don't quote them"]) {
      const spec = parseJobSpec(JSON.stringify({ name: 'a', command: line, matrix: { spec: ['x y', '$(touch /tmp/rota-pwned); *'], n: [1] } }));
      const out = expandJob(spec).map((t) => sh(t.command[2], t.env));
      assert.deepEqual(out, ['x y|1|', '$(touch /tmp/rota-pwned); *|1|'], line);
    }
  });

  it('property: a value reaches the command as the same bytes, whatever it holds', () => {
    const value = fc.string({ unit: 'binary', maxLength: 30 }).filter((v) => !v.includes('\0'));
    fc.assert(
      fc.property(value, fc.constantFrom('printf %s {v}', 'printf "%s" {v}', "printf '%s|' {v} {v}", 'x=$(printf %s {v}); printf %s "$x"'), (v, line) => {
        const script = shellTemplate(line, new Set(['v']));
        const expected = line.includes('|') ? `${v}|${v}|` : v;
        // Unquoted, the shell would split words and expand globs of the value: the quoted reference does neither.
        assert.equal(sh(script, { ROTA_MATRIX_V: v }), expected, script);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses {axis} inside quotes, where another shell could read the value as code', () => {
    for (const line of ['timeout 5 sh -c "echo {x}"', "sh -c 'echo {x}' && true", 'echo "value: {x}"']) {
      assert.match(refusal(JSON.stringify({ name: 'a', command: line, matrix: { x: ['$(touch /tmp/rota-pwned)'] } })), /\{x\} is inside quotes: put it outside them/, line);
    }
    assert.match(refusal(JSON.stringify({ name: 'a', command: ['echo', '{os}', '{OS}'], matrix: { os: ['a'], OS: ['b'] } })), /axes "os" and "OS" differ by case only/);
  });

  it('names the field meant in a work spec too', () => {
    assert.throws(() => parseWorkInput({ content: 'x', kind: 'task', comand: ['ls'] }), /unknown field "comand" \(did you mean command\?\)/);
    assert.throws(() => parseWorkInput({ content: 'x', kind: 'task', retries: 3 }), /did you mean maxAttempts/);
  });
});
