import { describe, expect, it } from 'vitest';
import { ProblemError } from '@/lib/http/problem';
import { charsetOf, readJsonBody } from '@/lib/http/request-body';

const request = (contentType: string, body: BodyInit) =>
  new Request('http://localhost/v1/profile/alice', { method: 'POST', headers: { 'Content-Type': contentType }, body, duplex: 'half' } as RequestInit);

async function refusal(contentType: string, body: BodyInit): Promise<ProblemError> {
  const error = await readJsonBody(request(contentType, body)).catch((caught: unknown) => caught);
  if (!(error instanceof ProblemError)) throw new Error(`expected a ProblemError, got ${String(error)}`);
  return error;
}

describe('charsetOf', () => {
  it.each([
    ['application/json', null],
    ['application/json; charset=utf-8', 'utf-8'],
    ['application/json;charset=UTF-16', 'utf-16'],
    ['application/json; foo=bar; Charset="ISO-8859-1"', 'iso-8859-1'],
    ['application/json; charset=', ''],
  ])('%s → %s', (header, expected) => {
    expect(charsetOf(header)).toBe(expected);
  });
});

describe('readJsonBody', () => {
  it('reads UTF-8 and US-ASCII bodies, labelled or not', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json; charset=us-ascii']) {
      expect(await readJsonBody(request(type, '{"likes": 1}')), type).toEqual({ likes: 1 });
    }
  });

  it.each(['utf-16', 'UTF-16LE', 'utf-32', 'iso-8859-1', 'windows-1252', 'latin1', ''])('refuses charset=%s with 415 and asks for UTF-8', async (charset) => {
    const error = await refusal(`application/json; charset=${charset}`, '{"likes": 1}');
    expect(error.code).toBe('unsupported-media-type');
    expect(error.toResponse().status).toBe(415);
    expect(error.message).toContain('UTF-8');
  });

  it('refuses bytes that are not UTF-8 with 400 rather than reading them as replacement characters', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"likes": 1, "x'), 0xff, ...new TextEncoder().encode('": 1}')]);
    const error = await refusal('application/json', bytes);
    expect(error.code).toBe('invalid-json');
    expect(error.message).toContain('UTF-8');
  });

  it('counts a body that breaks off as the client hanging up (499), not as an outage', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"likes":'));
        controller.error(new Error('aborted'));
      },
    });
    const error = await refusal('application/json', body);
    expect(error.code).toBe('client-closed-request');
    expect(error.toResponse().status).toBe(499);
  });

  it('answers 408 when the body stops arriving, instead of holding the request open', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"likes":'));
      },
    });
    const started = Date.now();
    const error = await readJsonBody(request('application/json', body), { timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProblemError);
    expect((error as ProblemError).toResponse().status).toBe(408);
    expect((error as ProblemError).message).toContain('nothing was changed');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('still cuts off a body that grows past the limit while it streams', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new TextEncoder().encode('x'.repeat(500)));
      },
    });
    const error = await readJsonBody(request('application/json', body), { maxBytes: 1024 }).catch((caught: unknown) => caught);
    expect((error as ProblemError).code).toBe('body-too-large');
    expect(pulls).toBeLessThan(10);
  });
});
