// The API document as a page: every operation of /openapi.json by tag, with its parameters, the
// bodies it takes, what it answers and a curl line to try it. Everything is built as DOM text
// (dom.js), nothing from the document is parsed as HTML.
import { fill, h } from '/dom.js';

const docs = document.getElementById('docs');

/** Follows a local $ref ("#/components/schemas/Error"). */
function deref(doc, schema) {
  if (!schema?.$ref) return schema ?? {};
  return schema.$ref.slice(2).split('/').reduce((o, k) => o?.[k], doc) ?? {};
}

/** A schema's type in a word or two ("string", "integer 1-100", "one of: a, b"). */
function typeOf(doc, s) {
  s = deref(doc, s);
  if (s.enum) return `one of: ${s.enum.join(', ')}`;
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map((x) => typeOf(doc, x)).join(' | ');
  if (s.type === 'array') return `array of ${typeOf(doc, s.items)}`;
  if (s.type === 'object' && !s.properties) return s.additionalProperties ? `map of ${typeOf(doc, s.additionalProperties)}` : 'object';
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` ${s.minimum ?? ''}-${s.maximum ?? ''}` : '';
  return `${[].concat(s.type ?? 'any').join(' | ')}${range}`;
}

/** A schema as indented lines: name, type, whether required, what it is. */
function schemaLines(doc, s, indent = '', out = []) {
  s = deref(doc, s);
  const variants = s.anyOf ?? s.oneOf;
  if (variants && variants.some((v) => deref(doc, v).properties || deref(doc, v).items?.properties)) {
    variants.forEach((v, i) => {
      out.push(h('span', { class: 'd' }, `${indent}${i ? 'or ' : ''}${typeOf(doc, v)}\n`));
      schemaLines(doc, v, `${indent}  `, out);
    });
    return out;
  }
  if (s.type === 'array' && deref(doc, s.items).properties) return schemaLines(doc, s.items, indent, out);
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const p = deref(doc, prop);
    const required = (s.required ?? []).includes(name) ? '' : '?';
    out.push(indent, h('span', { class: 'k' }, `${name}${required}`), ': ', h('span', { class: 't' }, typeOf(doc, p)), p.description ? h('span', { class: 'd' }, `  — ${p.description}`) : '', '\n');
    const inner = p.type === 'array' ? deref(doc, p.items) : p;
    if (inner.properties) schemaLines(doc, inner, `${indent}  `, out);
  }
  if (!s.properties && !variants && s.type !== 'array') out.push(h('span', { class: 't' }, `${indent}${typeOf(doc, s)}\n`));
  return out;
}

function content(doc, c) {
  return Object.entries(c ?? {}).map(([type, media]) => [h('div', { class: 'muted' }, type), h('pre', { class: 'schema' }, schemaLines(doc, media.schema))]);
}

function operation(doc, path, method, op) {
  const params = op.parameters ?? [];
  const sample = op.requestBody?.content?.['application/json'] ? " -H 'content-type: application/json' -d '{…}'" : op.requestBody ? " -d '…'" : '';
  const curl = `curl${method === 'get' ? '' : ` -X${method.toUpperCase()}`} ${location.origin}${path}${sample}${op.security?.length === 0 ? '' : ' -H "authorization: Bearer $ROTA_TOKEN"'}`;
  return h(
    'details',
    { class: 'op', 'data-testid': 'operation', id: op.operationId },
    h('summary', {}, h('span', { class: `method ${method}` }, method), h('span', { class: 'path' }, path), h('span', { class: 'sum' }, op.summary ?? '')),
    h(
      'div',
      { class: 'body' },
      op.description ? h('p', {}, op.description) : '',
      params.length ? [h('h3', {}, 'Parameters'), h('table', {}, h('tbody', {}, params.map((p) => h('tr', {}, h('td', { class: 'path' }, p.name), h('td', { class: 'muted' }, p.in), h('td', {}, p.description ?? '')))))] : '',
      op.requestBody ? [h('h3', {}, 'Body'), content(doc, op.requestBody.content)] : '',
      h('h3', {}, 'Answers'),
      Object.entries(op.responses ?? {}).map(([status, r]) => [h('div', {}, h('span', { class: `status ${Number(status) < 400 ? 'ok' : 'err'}` }, status), r.description ?? ''), Number(status) < 400 ? content(doc, r.content) : '']),
      h('p', { class: 'muted' }, 'Every error answers {error, message}.'),
      h('h3', {}, 'Try it'),
      h('pre', { class: 'curl' }, curl),
    ),
  );
}

async function main() {
  const r = await fetch('/openapi.json');
  if (!r.ok) return fill(docs, h('p', {}, `GET /openapi.json answered ${r.status}`));
  const doc = await r.json();
  const byTag = new Map((doc.tags ?? []).map((t) => [t.name, []]));
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) (byTag.get(op.tags?.[0] ?? 'other') ?? byTag.set(op.tags?.[0] ?? 'other', []).get(op.tags?.[0] ?? 'other')).push(operation(doc, path, method, op));
  const tags = [...byTag].filter(([, ops]) => ops.length);
  fill(document.getElementById('tags'), tags.map(([tag]) => h('a', { href: `#tag-${tag}` }, tag)));
  fill(docs, h('p', { class: 'muted' }, doc.info?.description ?? ''), tags.map(([tag, ops]) => [h('h2', { id: `tag-${tag}` }, tag), ops]));
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

void main();
