/** A minimal Pulp REST client for the black-box suites and the benchmarks (fetch + Basic auth). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

const FINAL = ['completed', 'failed', 'canceled', 'skipped'];

export class PulpApi {
  readonly auth: string;

  constructor(readonly baseUrl: string, password: string, user = 'admin') {
    this.auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  }

  async call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    const res = await fetch(url, {
      method,
      headers: { Authorization: this.auth, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text && (res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  /** Calls and insists on one status; the error names the call and the answer. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async expect(status: number, method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.call(method, path, body);
    if (r.status !== status) throw new Error(`${method} ${path} → ${r.status} (expected ${status}): ${r.text.slice(0, 2000)}`);
    return r.body;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async waitTask(href: string, timeoutMs = 120_000, pollMs = 100): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = await this.expect(200, 'GET', href);
      if (FINAL.includes(t.state)) return t;
      if (Date.now() > deadline) throw new Error(`task ${href} still ${t.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** POSTs something answering 202 {task} and waits for the task. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async runTask(path: string, body: unknown, timeoutMs?: number, pollMs?: number): Promise<any> {
    const { task } = await this.expect(202, 'POST', path, body);
    return this.waitTask(task, timeoutMs, pollMs);
  }

  /** Every page of a list endpoint (`limit`/`offset`), following `next`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async listAll(path: string, pageSize = 1000): Promise<any[]> {
    const out: unknown[] = [];
    let next: string | null = `${path}${path.includes('?') ? '&' : '?'}limit=${pageSize}`;
    while (next) {
      const page = await this.expect(200, 'GET', next);
      out.push(...page.results);
      next = page.next;
    }
    return out;
  }
}
