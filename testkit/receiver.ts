/**
 * A local HTTP receiver standing in for a Slack webhook or a Prometheus Pushgateway: it records
 * every request (method, path, headers, body) and answers the scripted statuses in order, then 200.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  requests: Received[];
  /** Answers for the next requests (status, optional headers); afterwards 200 "ok". */
  script(answers: Array<{ status: number; headers?: Record<string, string>; body?: string }>): void;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const answer = answers.shift() ?? { status: 200, body: 'ok' };
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(next) {
      answers = [...next];
    },
    async waitFor(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`receiver: ${requests.length} of ${n} requests after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
