import { normalizeModuleName, PERMANENT, type ModuleInfo } from '../parse/proc-modules';

export interface UnloadPlan {
  /** Modules in an order `rmmod` can take them: each after every module that uses it. */
  order: string[];
  /** Modules that cannot be unloaded, and why; in /proc/modules order, names it lacks last. */
  blocked: Array<{ name: string; why: string }>;
}

/**
 * A small binary heap of indices, smallest first: the order among modules free to
 * go is their /proc/modules order, which is newest first, the order rmmod would
 * naturally take them in.
 */
class IndexHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[i] = items[parent] as number;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[i] = items[child] as number;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The order in which `rmmod` can unload the given modules and everything that uses them, from /proc/modules' users lists:
 * a module comes after all its users. Modules not in `targets` but using them are included (they must go first).
 * Returns { order, blocked } where blocked lists modules that cannot be unloaded: use count > number of
 * listed users (held by something unlisted, e.g. a live rule or socket), or '[permanent]', or built in
 * (not in /proc/modules).
 *
 * Two refinements of "use count > listed users". A module with no module users
 * but references (an xt target with a rule, a table with rules) is held by
 * something outside the list and is blocked. A module that has module users and
 * more references than users is not blocked: on 2.6 kernels nf_nat took a second
 * reference on nf_conntrack_ipv4 that goes with it (a 3.x NAT host: count 3, users
 * iptable_nat and nf_nat, and the rmmod sequence worked), so the extra
 * references may leave with the users; if they do not, rmmod refuses that one
 * module, which does no harm. Whatever a blocked module uses stays too, and is
 * blocked in turn; users that form a cycle (only possible in corrupt input) are
 * blocked rather than looped over.
 */
export function unloadOrder(modules: ModuleInfo[], targets: string[]): UnloadPlan {
  const list = Array.isArray(modules) ? modules : [];
  const index = new Map<string, number>();
  list.forEach((module, i) => {
    if (module && typeof module.name === 'string' && !index.has(module.name)) index.set(module.name, i);
  });
  const moduleAt = (name: string): ModuleInfo | undefined => {
    const i = index.get(name);
    return i === undefined ? undefined : list[i];
  };
  const usersOf = (name: string): string[] => {
    const users = moduleAt(name)?.users;
    return Array.isArray(users) ? users.filter((user) => typeof user === 'string' && user !== PERMANENT) : [];
  };

  // Everything to unload: the targets and, transitively, whatever uses them.
  const included: string[] = [];
  const inSet = new Set<string>();
  const include = (name: string) => {
    if (inSet.has(name)) return;
    inSet.add(name);
    included.push(name);
  };
  for (const target of Array.isArray(targets) ? targets : []) {
    if (typeof target === 'string' && target !== '') include(normalizeModuleName(target));
  }
  const targetCount = included.length;
  for (let i = 0; i < included.length; i += 1) {
    for (const user of usersOf(included[i] as string)) include(user);
  }
  const position = new Map(included.map((name, i) => [name, i] as const));

  // What each included module uses, among the included: the way a block spreads.
  const uses = new Map<string, string[]>();
  for (const name of included) {
    for (const user of usersOf(name)) {
      const used = uses.get(user);
      if (used === undefined) uses.set(user, [name]);
      else used.push(name);
    }
  }

  const why = new Map<string, string>();
  for (const name of included) {
    const module = moduleAt(name);
    if (module === undefined) {
      const asTarget = (position.get(name) ?? 0) < targetCount;
      why.set(name, asTarget ? 'not in /proc/modules: built into the kernel, or not loaded' : 'listed as a user, but not in /proc/modules');
      continue;
    }
    const users = usersOf(name);
    const count = typeof module.useCount === 'number' ? module.useCount : NaN;
    if (Array.isArray(module.users) && module.users.includes(PERMANENT)) {
      why.set(name, 'permanent: it has no exit function, so the kernel cannot unload it');
    } else if (!(count >= 0)) {
      why.set(name, 'the kernel was built without module unloading');
    } else if (users.length === 0 && count > 0) {
      why.set(name, `held by ${plural(count, 'reference')} from no module: a live rule, table or socket`);
    }
  }

  // A module stays while anything using it stays. The user named is the first its
  // own users list gives, so the reason does not depend on the order of the targets.
  const queue = [...why.keys()];
  const held = new Set(queue);
  for (let i = 0; i < queue.length; i += 1) {
    for (const used of uses.get(queue[i] as string) ?? []) {
      if (held.has(used)) continue;
      held.add(used);
      queue.push(used);
    }
  }
  for (const name of held) {
    if (why.has(name)) continue;
    why.set(name, `used by ${usersOf(name).find((user) => held.has(user)) ?? 'a module'}, which cannot be unloaded`);
  }

  // Kahn's algorithm over the rest: a module is free once all of its users are gone.
  const free = included.filter((name) => !why.has(name));
  const waiting = new Map<string, number>();
  for (const name of free) waiting.set(name, usersOf(name).length);
  const heap = new IndexHeap();
  for (const name of free) if (waiting.get(name) === 0) heap.push(index.get(name) as number);
  const order: string[] = [];
  while (heap.size > 0) {
    const module = list[heap.pop() as number] as ModuleInfo;
    order.push(module.name);
    for (const used of uses.get(module.name) ?? []) {
      const left = (waiting.get(used) ?? 0) - 1;
      waiting.set(used, left);
      if (left === 0) heap.push(index.get(used) as number);
    }
  }

  // Whatever Kahn could not reach sits on or below a cycle of users. Peel off, from
  // the other end, those that merely sit below one (they use nothing left): what
  // remains is caught in the cycles themselves.
  const placed = new Set(order);
  const stuck = new Set(free.filter((name) => !placed.has(name)));
  if (stuck.size > 0) {
    const usesLeft = new Map<string, number>();
    for (const name of stuck) usesLeft.set(name, (uses.get(name) ?? []).filter((used) => stuck.has(used)).length);
    const below: string[] = [...stuck].filter((name) => usesLeft.get(name) === 0);
    const belowSet = new Set(below);
    for (let i = 0; i < below.length; i += 1) {
      const name = below[i] as string;
      for (const user of usersOf(name)) {
        if (!stuck.has(user) || belowSet.has(user)) continue;
        const left = (usesLeft.get(user) ?? 0) - 1;
        usesLeft.set(user, left);
        if (left === 0) {
          belowSet.add(user);
          below.push(user);
        }
      }
    }
    for (const name of stuck) {
      if (belowSet.has(name)) {
        const holder =
          usersOf(name).find((user) => stuck.has(user) && !belowSet.has(user)) ?? usersOf(name).find((user) => stuck.has(user));
        why.set(name, `used by ${holder ?? 'a module in a cycle'}, which cannot be unloaded`);
      } else {
        why.set(name, 'caught in a cycle of users, which /proc/modules never shows: the input is corrupt');
      }
    }
  }

  const rank = (name: string) => index.get(name) ?? list.length + (position.get(name) ?? 0);
  const blocked = [...why.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([name, reason]) => ({ name, why: reason }));
  return { order, blocked };
}

const MODULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * /etc/modprobe.d lines that keep the modules from loading again: 'blacklist X' stops alias
 * autoloading, 'install X /bin/false' also stops explicit modprobe (what `iptables -t nat -L` does).
 * Deterministic order: by name, the two lines of a module together. Names that
 * are not module names are left out, so that no input can add a directive of its own.
 */
export function blacklistLines(names: string[]): string[] {
  const unique = new Set<string>();
  for (const name of Array.isArray(names) ? names : []) {
    if (typeof name === 'string' && MODULE_NAME.test(name)) unique.add(normalizeModuleName(name));
  }
  const lines: string[] = [];
  for (const name of [...unique].sort()) lines.push(`blacklist ${name}`, `install ${name} /bin/false`);
  return lines;
}
