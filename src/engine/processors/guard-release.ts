// The guard's last act for a node that died (SIGKILL, OOM): once every child it ran has exited,
// revoke the node's leases itself, so the fleet takes over its work at once instead of waiting a
// TTL for the leases to expire. Only after the children are gone — never two runs of one item.
// It speaks etcd's JSON gateway (POST /v3/lease/revoke) with Node builtins: the guard must start fast.
import http from 'node:http';
import https from 'node:https';

/** How the guard reaches etcd: the node's endpoints, TLS material (PEM) and credentials. */
export interface EtcdGateway {
  endpoints: string[];
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
}

// A revoke deletes every key on the lease (a worker with 1,000 claims): under load it can take
// seconds, and one given up on leaves the items to wait for the lease's expiry.
const CALL_MS = 4000;

/** Revokes each lease through the first member that answers; resolves either way (expiry remains). */
export async function revokeLeases(leases: Map<string, EtcdGateway>): Promise<void> {
  await Promise.all([...leases].map(async ([lease, gateway]) => {
    for (const endpoint of gateway.endpoints) {
      try {
        await revokeAt(endpoint.replace(/\/+$/, ''), lease, gateway);
        return;
      } catch {
        // try the next member
      }
    }
  }));
}

async function revokeAt(endpoint: string, lease: string, gateway: EtcdGateway): Promise<void> {
  const headers: Record<string, string> = {};
  if (gateway.username) {
    const auth = await post(`${endpoint}/v3/auth/authenticate`, { name: gateway.username, password: gateway.password ?? '' }, gateway, headers);
    headers.authorization = String((auth as { token?: string }).token ?? '');
  }
  await post(`${endpoint}/v3/lease/revoke`, { ID: lease }, gateway, headers);
}

function post(url: string, body: object, gateway: EtcdGateway, headers: Record<string, string>): Promise<unknown> {
  const secure = url.startsWith('https:');
  const request = secure ? https.request : http.request;
  const tls = secure ? { ca: gateway.ca, cert: gateway.cert, key: gateway.key } : {};
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', timeout: CALL_MS, headers: { 'content-type': 'application/json', ...headers }, ...tls }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        // A lease already gone (expired, or revoked by a clean stop) is as good as revoked.
        if (res.statusCode !== 200 && !text.includes('lease not found')) return reject(new Error(`etcd answered ${res.statusCode}: ${text}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve({});
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out'))).on('error', reject);
    req.end(JSON.stringify(body));
  });
}
