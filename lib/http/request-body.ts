import { ProblemError } from './problem';

export const MAX_BODY_BYTES = 1024;

/**
 * The request's JSON body, read with a hard byte limit: a chunked body that
 * grows past it is cut off while streaming, not after it was all buffered.
 */
export async function readJsonBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ProblemError(
      'unsupported-media-type',
      contentType ? `Content-Type ${mediaType} is not accepted; send application/json.` : 'Send the body as application/json.',
    );
  }
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }

  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
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

function tooLarge(maxBytes: number): ProblemError {
  return new ProblemError('body-too-large', `The body is over ${maxBytes} bytes; send only the counters to change.`);
}
