/**
 * One HTTP/2 request written frame by frame (h2c, prior knowledge), for what Node's client refuses
 * to send: a header field repeated where it must have one value (`Authorization`). Header fields
 * are HPACK literals without indexing or Huffman coding (RFC 7541 section 6.2.2); the response is
 * reduced to its DATA bytes, which is all the tests read.
 */
import net from 'node:net';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const frameTypes = { data: 0, headers: 1, settings: 4, goaway: 7, rstStream: 3 };
const flags = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 };

function frame(type: number, flag: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flag;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string: 7-bit length prefix (only short strings here), no Huffman. */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length >= 127) throw new Error('raw-h2: header too long for this encoder');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0]), hpackString(name), hpackString(value)]));
}

/** Sends `fields` as a GET on stream 1; resolves with the response body once the stream ends or is reset. */
export function rawH2Get(baseUrl: string, fields: [string, string][]): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  socket.write(
    Buffer.concat([
      preface,
      frame(frameTypes.settings, 0, 0, Buffer.alloc(0)),
      frame(frameTypes.headers, flags.endStream | flags.endHeaders, 1, headerBlock(fields)),
    ]),
  );
  let pending = Buffer.alloc(0);
  let body = '';
  return new Promise((resolve, reject) => {
    const finish = () => {
      socket.destroy();
      resolve(body);
    };
    socket.on('error', reject);
    socket.on('close', () => resolve(body));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const [type, flag, stream] = [pending[3]!, pending[4]!, pending.readUInt32BE(5) & 0x7fffffff];
        const payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === frameTypes.settings && !(flag & flags.ack)) {
          socket.write(frame(frameTypes.settings, flags.ack, 0, Buffer.alloc(0)));
        }
        if (stream !== 1) continue;
        if (type === frameTypes.data) body += payload.toString('utf8');
        if ((type === frameTypes.data || type === frameTypes.headers) && flag & flags.endStream) return finish();
        if (type === frameTypes.rstStream) return finish();
      }
    });
  });
}
