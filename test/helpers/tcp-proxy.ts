// A TCP proxy between a client and a server that a test can cut and restore, to sever the
// network without touching either process.
import net from 'node:net';
import { after, before } from 'node:test';
import { EtcdStore } from '../../src/store/index.js';
import { startEtcd, type EtcdCluster } from './etcd.js';

/** Loopback TCP proxy to one target port. */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private severed = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Starts a proxy on a free loopback port forwarding to 127.0.0.1:targetPort. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drops every open connection and refuses new ones until restored. */
  cut(): void {
    this.severed = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.severed = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, targetPort: number): void {
    if (this.severed) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}

/** An etcd with a TCP proxy in front, for one suite: started before it, stopped after. */
export interface ProxiedEtcd {
  etcd: EtcdCluster;
  proxy: TcpProxy;
  /** A client straight to etcd. */
  direct: EtcdStore;
  /** A client through the proxy: cut the proxy to cut its network. */
  viaProxy: EtcdStore;
}

/** Declares the suite's before/after hooks; the fields are set once `before` has run. */
export function useProxiedEtcd(): ProxiedEtcd {
  const p = {} as ProxiedEtcd;
  before(async () => {
    p.etcd = await startEtcd();
    p.proxy = await TcpProxy.start(Number(new URL(p.etcd.endpoints[0]).port));
    p.direct = new EtcdStore({ endpoints: p.etcd.endpoints });
    p.viaProxy = new EtcdStore({ endpoints: [p.proxy.url] });
  });
  after(async () => {
    await p.viaProxy?.close();
    await p.direct?.close();
    await p.proxy?.close();
    await p.etcd?.stop();
  });
  return p;
}
