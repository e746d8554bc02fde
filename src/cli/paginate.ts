/**
 * Listing with `--prefix`, `--start-after` and `--limit` over pages of at most 1000 (the API's cap).
 */

export interface ListOptions {
  prefix?: string;
  startAfter?: string;
  limit?: number;
}

/** Pages of at most 1000 until `limit` items or the end; calls `onPage` with each page. */
export async function paginate<T extends { name: string }>(
  options: ListOptions,
  fetchPage: (args: {
    prefix?: string;
    startAfter?: string;
    limit: number;
  }) => Promise<{ items: T[]; hasMore: boolean }>,
  onPage: (items: T[]) => void,
): Promise<void> {
  let startAfter = options.startAfter;
  let remaining = options.limit ?? Infinity;
  while (remaining > 0) {
    const page = await fetchPage({ prefix: options.prefix, startAfter, limit: Math.min(remaining, 1000) });
    onPage(page.items);
    remaining -= page.items.length;
    if (!page.hasMore || page.items.length === 0) break;
    startAfter = page.items[page.items.length - 1]!.name;
  }
}
