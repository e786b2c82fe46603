/**
 * A copy that shares no memory with `text`: V8 may keep a short slice of a string as a
 * view into its parent, and a sketch key that is a view would keep a whole chunk alive.
 * Keys are addresses and names, ASCII by the time they get here.
 */
export function detach(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * Space-Saving (Metwally, Agrawal, El Abbadi 2005) over at most `capacity` keys. A new
 * key takes the slot of the least counted one and inherits its count, which becomes the
 * new key's possible overcount. So every count is an upper bound, count - error a lower
 * one, and a key seen more than total / capacity times always holds a slot. The slots
 * form a min-heap on count so that the least counted one is found at once.
 */
export class SpaceSaving {
  private readonly slotOf = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  /** Slot numbers, least count first. */
  private readonly heap: Int32Array;
  /** Slot number -> its place in the heap. */
  private readonly place: Int32Array;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.place = new Int32Array(capacity);
  }

  offer(key: string): void {
    const known = this.slotOf.get(key);
    if (known !== undefined) {
      this.counts[known] = (this.counts[known] as number) + 1;
      this.down(this.place[known] as number);
      return;
    }
    if (this.size < this.capacity) {
      const slot = this.size;
      this.size += 1;
      const copy = detach(key);
      this.keys[slot] = copy;
      this.slotOf.set(copy, slot);
      this.counts[slot] = 1;
      this.errors[slot] = 0;
      this.heap[slot] = slot;
      this.place[slot] = slot;
      // Every count is at least 1, so a new 1 goes no higher than the leaves' parents.
      this.up(slot);
      return;
    }
    const victim = this.heap[0] as number;
    const floor = this.counts[victim] as number;
    this.slotOf.delete(this.keys[victim] as string);
    const copy = detach(key);
    this.keys[victim] = copy;
    this.slotOf.set(copy, victim);
    this.counts[victim] = floor + 1;
    this.errors[victim] = floor;
    this.down(0);
  }

  items(): Array<{ key: string; count: number; error: number }> {
    const items: Array<{ key: string; count: number; error: number }> = [];
    for (let slot = 0; slot < this.size; slot += 1) {
      items.push({ key: this.keys[slot] as string, count: this.counts[slot] as number, error: this.errors[slot] as number });
    }
    return items;
  }

  private countAt(i: number): number {
    return this.counts[this.heap[i] as number] as number;
  }

  private swap(i: number, j: number): void {
    const si = this.heap[i] as number;
    const sj = this.heap[j] as number;
    this.heap[i] = sj;
    this.heap[j] = si;
    this.place[sj] = i;
    this.place[si] = j;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.countAt(parent) <= this.countAt(i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const size = this.size;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) return;
      const right = left + 1;
      const child = right < size && this.countAt(right) < this.countAt(left) ? right : left;
      if (this.countAt(i) <= this.countAt(child)) return;
      this.swap(i, child);
      i = child;
    }
  }
}
