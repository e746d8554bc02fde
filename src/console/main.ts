/**
 * The console's entry: picks the page for the URL, renders it into <main>, and re-renders on
 * navigation or when the access token changes. A page gets an AbortSignal that fires when the
 * user leaves it, so its live reads and metric polling stop.
 */
import { mountAuth } from './auth.js';
import { h, replace } from './dom.js';
import { basinsPage } from './pages/basins.js';
import { metricsPage } from './pages/metrics.js';
import { streamPage } from './pages/stream.js';
import { streamsPage } from './pages/streams.js';
import { hrefOf, interceptLinks, routeOf, type Route } from './router.js';

const main = document.getElementById('main')!;
let leave: AbortController | undefined;

function pageFor(route: Route, signal: AbortSignal): { title: string; element: HTMLElement } {
  switch (route.page) {
    case 'basins':
      return { title: 'Basins', element: basinsPage() };
    case 'streams':
      return { title: route.basin, element: streamsPage(route.basin) };
    case 'stream':
      return { title: `${route.stream} · ${route.basin}`, element: streamPage(route.basin, route.stream, signal) };
    case 'metrics':
      return { title: 'Server metrics', element: metricsPage(signal) };
    case 'not-found':
      return {
        title: 'Not found',
        element: h(
          'div',
          null,
          h('h1', { tabindex: -1 }, 'No such page'),
          h(
            'p',
            null,
            'The console has no page at ',
            h('code', null, route.path),
            '. ',
            h('a', { href: hrefOf({ page: 'basins' }) }, 'Go to the basins.'),
          ),
        ),
      };
  }
}

function render(moveFocus: boolean): void {
  leave?.abort();
  leave = new AbortController();
  const route = routeOf(location.pathname);
  // `/` and `/console` show the basins; the address bar says where that lives.
  if (route.page === 'basins' && location.pathname !== hrefOf(route)) history.replaceState(null, '', hrefOf(route));
  const page = pageFor(route, leave.signal);
  document.title = `${page.title} · s2-lite console`;
  replace(main, page.element);
  for (const link of document.querySelectorAll('header nav a')) {
    if ((link as HTMLAnchorElement).pathname === location.pathname) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // After navigating, put keyboard and screen-reader focus on the new page's heading.
  if (moveFocus) main.querySelector<HTMLElement>('h1')?.focus();
}

function showFatal(message: string): void {
  const banner =
    document.getElementById('fatal') ??
    document.body.insertBefore(h('div', { id: 'fatal', class: 'notice error', role: 'alert' }), main);
  replace(banner, `Something went wrong in the console: ${message}`);
}

window.addEventListener('error', (event) => showFatal(event.message));
window.addEventListener('unhandledrejection', (event) =>
  showFatal(String((event.reason as Error)?.message ?? event.reason)),
);
window.addEventListener('popstate', () => render(true));
window.addEventListener('s2-navigate', () => render(true));
interceptLinks(document);
mountAuth(document.getElementById('auth-slot')!, () => render(false));
render(false);
