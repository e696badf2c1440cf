// What the store holds, read straight from etcd's JSON gateway (no rota code in the way): the
// registry's item ids, the registered workers, and the claims with their fencing tokens. Keys only where values can be
// large (item contents reach 1 MiB).

/** One claim: the worker holding it and its fencing token (the key's create revision). */
export interface Claim {
  worker: string;
  token: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** The end of the range of keys that start with `prefix`. */
function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix);
  buf[buf.length - 1]++;
  return buf.toString('base64');
}

async function range(url: string, prefix: string, keysOnly: boolean): Promise<Array<{ key: string; value: string; createRevision: string }>> {
  const res = await fetch(`${url}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(prefix), range_end: prefixEnd(prefix), keys_only: keysOnly }),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`etcd range ${prefix}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { kvs?: Array<{ key: string; value?: string; create_revision: string }> };
  return (body.kvs ?? []).map((kv) => ({ key: unb64(kv.key).slice(prefix.length), value: kv.value ? unb64(kv.value) : '', createRevision: kv.create_revision }));
}

/** The ids in the registry. */
export async function registryIds(url: string, prefix = '/work/'): Promise<Set<string>> {
  return new Set((await range(url, `${prefix}registry/`, true)).map((kv) => kv.key));
}

/** The ids of the registered workers. */
export async function workerIds(url: string, prefix = '/work/'): Promise<Set<string>> {
  return new Set((await range(url, `${prefix}workers/`, true)).map((kv) => kv.key));
}

/** item id → its claim. */
export async function claims(url: string, prefix = '/work/'): Promise<Map<string, Claim>> {
  return new Map((await range(url, `${prefix}active/`, false)).map((kv) => [kv.key, { worker: kv.value, token: kv.createRevision }]));
}
