import { getConfig } from '../config';
import { logger } from '../logger';
import { ProblemError } from './problem';

export const MAX_BODY_BYTES = 1024;

// JSON travels as UTF-8 (RFC 8259); US-ASCII is a subset of it. A body labelled
// with any other charset would be misread, so it is refused rather than guessed at.
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** The charset parameter of a Content-Type, lowercased and unquoted, or null when there is none. */
export function charsetOf(contentType: string): string | null {
  for (const parameter of contentType.split(';').slice(1)) {
    const match = parameter.match(/^\s*charset\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/i);
    if (match) return (match[1] ?? match[2]).replace(/\\(.)/g, '$1').toLowerCase();
  }
  return null;
}

/**
 * The request's JSON body, read with a hard byte limit and a deadline: a
 * chunked body that grows past the limit is cut off while streaming, not after
 * it was all buffered, and one that stops arriving (a Content-Length never
 * met) is answered 408 instead of holding the request open.
 */
export async function readJsonBody(
  request: Request,
  { maxBytes = MAX_BODY_BYTES, timeoutMs = getConfig().REQUEST_BODY_TIMEOUT_MS }: { maxBytes?: number; timeoutMs?: number } = {},
): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ProblemError(
      'unsupported-media-type',
      contentType ? `Content-Type ${mediaType} is not accepted; send application/json.` : 'Send the body as application/json.',
    );
  }
  const charset = charsetOf(contentType);
  if (charset !== null && !UTF8_CHARSETS.has(charset)) {
    throw new ProblemError(
      'unsupported-media-type',
      `The body is declared as charset=${charset.slice(0, 40)}; JSON is read only as UTF-8, so send it as UTF-8 (charset=utf-8, or no charset).`,
    );
  }
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);

  const bytes = request.body ? await readBytes(request.body, maxBytes, timeoutMs) : new Uint8Array();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ProblemError('invalid-json', 'The body is not valid UTF-8; send JSON encoded as UTF-8.');
  }
  if (text.trim() === '') throw new ProblemError('invalid-json', 'The body is empty; send a JSON object like {"likes": 1}.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProblemError('invalid-json', `The body is not valid JSON: ${(error as Error).message}.`);
  }
  // JSON.parse keeps the last of two equal keys; {"likes":1,"likes":-1} is ambiguous, so say so.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    throw new ProblemError('invalid-body', `The field "${duplicate.slice(0, 40)}" appears more than once; send each field once.`);
  }
  return value;
}

/** The first key that appears twice in one object of a valid JSON text, or null. */
export function findDuplicateKey(text: string): string | null {
  const objects: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === '{') objects.push(new Set());
    else if (char === '[') objects.push(null);
    else if (char === '}' || char === ']') objects.pop();
    else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next += 1;
      const keys = objects.at(-1);
      if (keys && text[next] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return null;
}

async function readBytes(body: ReadableStream<Uint8Array>, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const reader = body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProblemError('request-timeout', `The body did not arrive within ${timeoutMs} ms; nothing was changed. Send the whole body at once.`)),
      timeoutMs,
    );
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read(), late]);
      } catch (error) {
        if (error instanceof ProblemError) throw error;
        throw clientHungUp(error);
      }
      if (chunk.done) return Buffer.concat(chunks);
      size += chunk.value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk.value);
    }
  } catch (error) {
    // Not awaited: cancelling a body whose client has gone quiet can wait for as long as the client does.
    reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reading the body failed: the only way that happens is the client closing
 * the connection before its body arrived. That is the client's doing, not a
 * database outage, and nobody is left to read the answer; logs and metrics
 * count it as such (499), and nothing was sent to the database.
 */
function clientHungUp(error: unknown): ProblemError {
  logger.info({ err: (error as Error)?.message }, 'http: the client closed the connection before its request body arrived; nothing was changed');
  return new ProblemError('client-closed-request', 'The connection closed before the whole body arrived; nothing was changed.');
}

function tooLarge(maxBytes: number): ProblemError {
  return new ProblemError('body-too-large', `The body is over ${maxBytes} bytes; send only the counters to change.`);
}
