export type SseMessage = { event: string; data: string | null; comments: number };

/** Reads an SSE body and calls back once per message (blank-line separated block). */
export async function readSse(body: ReadableStream<Uint8Array>, onMessage: (message: SseMessage) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let comments = 0;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments += 1;
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      onMessage({ event, data: data.length ? data.join('\n') : null, comments });
    }
  }
}
