import { createConnection, createServer, type Socket } from 'node:net';

/** What the proxy does to the next simple query whose text matches: see `loseReply`. */
interface Trap {
  matches: (text: string) => boolean;
  deliver: boolean;
  sprung: () => void;
}

/**
 * A TCP proxy the test controls, between one host and the database: `cut()` drops every
 * connection and refuses new ones (the host is cut off), `heal()` lets them through again, and
 * `loseReply()` drops one connection in the middle of a query (a lost acknowledgement).
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let cut = false;
  let trap: Trap | undefined;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    const messages = frontendMessages();
    client.on('data', (chunk: Buffer) => {
      for (const message of messages.push(chunk)) {
        const text = message.query;
        if (trap && text !== undefined && trap.matches(text)) {
          const { deliver, sprung } = trap;
          trap = undefined;
          const drop = () => {
            client.destroy();
            upstream.destroy();
            sprung();
          };
          if (!deliver) return void drop();
          // The server gets the query and runs it to its end (ReadyForQuery); the answer never reaches the client.
          upstream.unpipe(client);
          let answer = Buffer.alloc(0);
          upstream.on('data', (data: Buffer) => {
            answer = Buffer.concat([answer, data]);
            const end = answer.subarray(-6);
            if (end.length === 6 && end[0] === 0x5a && end.readInt32BE(1) === 5) drop();
          });
          upstream.resume(); // unpiped, it would stay paused
          upstream.write(message.bytes);
          return;
        }
        upstream.write(message.bytes);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    /** The URL of `url`'s database, through the proxy. */
    through(url: string): string {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.href;
    },
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      cut = false;
    },
    /**
     * The next simple query whose text matches: with `deliver`, it reaches the server, which runs
     * it, and its connection is dropped as the server's answer comes (the client cannot know what
     * happened); without, the connection is dropped before the server sees it. Resolves once dropped.
     */
    loseReply(matches: (text: string) => boolean, options: { deliver: boolean }): Promise<void> {
      return new Promise((resolve) => {
        trap = { matches, deliver: options.deliver, sprung: resolve };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Splits what a PostgreSQL client sends into whole messages: the untyped start-up messages first
 * (an SSL request, then the start-up packet), then typed ones; a simple query's text is read out.
 */
function frontendMessages() {
  let buffered = Buffer.alloc(0);
  let started = false;
  return {
    push(chunk: Buffer): Array<{ bytes: Buffer; query?: string }> {
      buffered = Buffer.concat([buffered, chunk]);
      const out: Array<{ bytes: Buffer; query?: string }> = [];
      for (;;) {
        const typed = started ? 1 : 0;
        if (buffered.length < typed + 4) break;
        const length = typed + buffered.readInt32BE(typed);
        if (buffered.length < length) break;
        const bytes = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        if (!started) {
          const SSL_REQUEST = 80877103;
          if (bytes.length !== 8 || bytes.readInt32BE(4) !== SSL_REQUEST) started = true;
          out.push({ bytes });
        } else {
          out.push({ bytes, query: bytes[0] === 0x51 ? bytes.subarray(5, length - 1).toString('utf8') : undefined });
        }
      }
      return out;
    },
  };
}
