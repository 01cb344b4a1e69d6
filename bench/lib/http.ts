import http from 'node:http';

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * A lean keep-alive HTTP/1.1 client over node:http: the load generator must cost the machine
 * little, since it shares the cores with the server, Postgres and Redis.
 */
export class HttpClient {
  private agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly options: { maxSockets: number },
  ) {
    this.url = new URL(baseUrl);
    this.agent = this.newAgent();
  }

  private newAgent(): http.Agent {
    return new http.Agent({ keepAlive: true, maxSockets: this.options.maxSockets, maxFreeSockets: this.options.maxSockets });
  }

  /**
   * Drops the pooled connections. Before a measurement that follows a pause: the server closes
   * keep-alive connections idle for 5 s, and a request racing that close fails with ECONNRESET.
   */
  reset(): void {
    this.agent.destroy();
    this.agent = this.newAgent();
  }

  request(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<HttpResponse> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: http.OutgoingHttpHeaders = {};
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A JSON request that must answer `status`; returns the parsed body. */
  async json<T = any>(method: string, path: string, options: { body?: unknown; token?: string; status?: number } = {}): Promise<T> {
    const res = await this.request(method, path, options);
    const expected = options.status ?? 200;
    if (res.status !== expected) throw new Error(`${method} ${path}: expected ${expected}, got ${res.status} ${res.body.slice(0, 300)}`);
    return (res.body ? JSON.parse(res.body) : undefined) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
