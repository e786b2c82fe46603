/** Keeps the `limit` best of the candidates offered, best first on demand, in O(limit) memory. */
export class BestOf<T> {
  private readonly heap: T[] = [];

  /** `better(a, b)`: a ranks before b. */
  constructor(
    private readonly limit: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {}

  /** The item a newcomer must beat, once `limit` are kept; undefined before. */
  worst(): T | undefined {
    return this.heap.length < this.limit ? undefined : this.heap[0];
  }

  offer(item: T): void {
    const heap = this.heap;
    if (heap.length < this.limit) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.better(heap[parent] as T, heap[i] as T)) break;
        [heap[parent], heap[i]] = [heap[i] as T, heap[parent] as T];
        i = parent;
      }
      return;
    }
    if (heap.length === 0 || !this.better(item, heap[0] as T)) return;
    heap[0] = item;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      // The heap's root is its worst item: a parent must rank after its children.
      const child = right < heap.length && this.better(heap[left] as T, heap[right] as T) ? right : left;
      if (!this.better(heap[i] as T, heap[child] as T)) break;
      [heap[child], heap[i]] = [heap[i] as T, heap[child] as T];
      i = child;
    }
  }

  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }
}
