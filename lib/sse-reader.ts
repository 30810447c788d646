// Reads a Server-Sent Events body (as the server's openSse writes it):
// calls onEvent with the event name, parsed JSON data and id (null: none) of each block.
export async function readSseEvents(body: AsyncIterable<Uint8Array>, onEvent: (event: string, data: unknown, id: string | null) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      const id = /^id: (.*)$/m.exec(block)?.[1] ?? null;
      if (event && data !== undefined) onEvent(event, JSON.parse(data), id);
    }
  }
}
