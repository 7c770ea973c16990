// Every error the HTTP API gives is RFC 9457 problem+json, built from this one
// table so a status code always means the same thing.
const PROBLEMS = {
  'invalid-json': { status: 400, title: 'Body is not valid JSON' },
  'bad-request': { status: 400, title: 'Malformed request' },
  'unauthorized': { status: 401, title: 'Operator token required' },
  'forbidden': { status: 403, title: 'Request refused' },
  'not-found': { status: 404, title: 'Profile not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'Request body too slow' },
  'below-zero': { status: 409, title: 'Counter would go below zero' },
  'body-too-large': { status: 413, title: 'Body too large' },
  'misdirected': { status: 421, title: 'Host not served here' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'invalid-body': { status: 422, title: 'Body breaks the rules' },
  'invalid-header': { status: 422, title: 'Header breaks the rules' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key already used for another change' },
  'invalid-query': { status: 422, title: 'Query breaks the rules' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  // nginx's convention: the client hung up before its request arrived. No client
  // ever sees it; it keeps logs and metrics from blaming anyone else.
  'client-closed-request': { status: 499, title: 'Client closed the request' },
  'internal': { status: 500, title: 'Internal error' },
  'unavailable': { status: 503, title: 'Service unavailable' },
  'outcome-unknown': { status: 504, title: 'Outcome unknown' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
};

export function problemBody(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  return { type: `urn:ripple:problem:${code}`, title, status, detail, ...extensions };
}

export function problem(
  code: ProblemCode,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  const body = problemBody(code, detail, extensions);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...headers },
  });
}

/** Thrown by request parsing; route handlers turn it into its response. */
export class ProblemError extends Error {
  constructor(
    readonly code: ProblemCode,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: HeadersInit = {},
  ) {
    super(detail);
  }

  toResponse(): Response {
    return problem(this.code, this.message, this.extensions, this.headers);
  }
}
