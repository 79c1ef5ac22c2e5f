/**
 * Lines of bytes, numbered, with the byte offset where each ends: the batch input is validated
 * line by line with its line numbers, and the batch output is cut back to its last whole line.
 * Bytes, not text, so that a line that is not UTF-8 is reported by its number, and a line over
 * the limit is reported without being held in memory.
 *
 * @since 0.1.0
 * @internal
 */

export interface Line {
  /** From 1. */
  readonly number: number
  /** The line without its `\n` (a `\r` before it is kept); `undefined` when it is longer than the limit. */
  readonly bytes: Buffer | undefined
  /** The byte offset just past the line and its `\n`. */
  readonly end: number
  /** Whether a `\n` ended it: only the last line of a file can lack one. */
  readonly terminated: boolean
}

const NEWLINE = 0x0a

/** The lines of `chunks`, in order. A last line without `\n` is yielded, not terminated; an empty one is not. */
export async function* lines(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxLineBytes: number
): AsyncGenerator<Line> {
  let pending: Array<Buffer> = []
  let pendingBytes = 0
  let tooLong = false
  let number = 0
  let offset = 0
  const take = (terminated: boolean): Line => {
    const bytes = tooLong ? undefined : pending.length === 1 ? pending[0]! : Buffer.concat(pending)
    offset += pendingBytes + (terminated ? 1 : 0)
    const line: Line = { number: ++number, bytes, end: offset, terminated }
    pending = []
    pendingBytes = 0
    tooLong = false
    return line
  }
  const keep = (part: Buffer) => {
    pendingBytes += part.byteLength
    if (pendingBytes > maxLineBytes) tooLong = true
    if (tooLong) pending = []
    else if (part.byteLength > 0) pending.push(part)
  }
  for await (const chunk of chunks) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    for (let at = buffer.indexOf(NEWLINE, start); at !== -1; at = buffer.indexOf(NEWLINE, start)) {
      keep(buffer.subarray(start, at))
      yield take(true)
      start = at + 1
    }
    if (start < buffer.byteLength) keep(buffer.subarray(start))
  }
  if (pendingBytes > 0) yield take(false)
}
