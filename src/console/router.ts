/**
 * The console's pages live under `/console/` (the server answers index.html for any of them).
 * Links are real <a href> elements; a plain click is taken over with the History API so the page
 * does not reload, while middle-click, ctrl-click and "open in new tab" keep working.
 */

export type Route =
  | { page: 'basins' }
  | { page: 'streams'; basin: string }
  | { page: 'stream'; basin: string; stream: string }
  | { page: 'metrics' }
  | { page: 'not-found'; path: string };

const base = '/console';

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'basins':
      return `${base}/`;
    case 'streams':
      return `${base}/basins/${encodeURIComponent(route.basin)}`;
    case 'stream':
      return `${base}/basins/${encodeURIComponent(route.basin)}/streams/${encodeURIComponent(route.stream)}`;
    case 'metrics':
      return `${base}/metrics`;
    case 'not-found':
      return route.path;
  }
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function routeOf(pathname: string): Route {
  if (pathname === '/' || pathname === base || pathname === `${base}/`) return { page: 'basins' };
  if (pathname === `${base}/metrics`) return { page: 'metrics' };
  // Stream names may contain '/', so they are one percent-encoded segment each.
  const parts = pathname.slice(base.length + 1).split('/');
  if (parts[0] === 'basins' && parts.length === 2) {
    const basin = decode(parts[1]!);
    if (basin) return { page: 'streams', basin };
  }
  if (parts[0] === 'basins' && parts.length === 4 && parts[2] === 'streams') {
    const basin = decode(parts[1]!);
    const stream = decode(parts[3]!);
    if (basin && stream) return { page: 'stream', basin, stream };
  }
  return { page: 'not-found', path: pathname };
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  window.dispatchEvent(new Event('s2-navigate'));
}

/** Takes over plain left clicks on same-origin console links. */
export function interceptLinks(root: Document): void {
  root.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.hash && url.pathname === location.pathname) return;
    if (url.origin !== location.origin || !(url.pathname === base || url.pathname.startsWith(`${base}/`))) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
