/**
 * File and ZIP links. Each is a real link to the API URL (copyable, and enough when the daemon has
 * no key). With a key, a click fetches the file with the X-API-Key header and hands the bytes to
 * the browser as a download, since a plain link cannot carry the header.
 */
import { messageOf, type ApiClient } from './api.js';
import { h } from './dom.js';

export function downloadLink(href: string, fileName: string, label: string, cls = ''): HTMLAnchorElement {
  return h('a', { href, class: cls, 'data-download': fileName, download: fileName }, label);
}

/** One listener for every download link of the page. */
export function installDownloadHandler(api: ApiClient, onError: (message: string) => void): void {
  document.addEventListener('click', (ev) => {
    const link = (ev.target as Element | null)?.closest?.('a[data-download]');
    if (!(link instanceof HTMLAnchorElement) || api.key === '') return;
    ev.preventDefault();
    void (async () => {
      link.classList.add('loading');
      try {
        const res = await api.fetch('GET', link.getAttribute('href') ?? '');
        const url = URL.createObjectURL(await res.blob());
        const a = h('a', { href: url, download: link.dataset['download'] ?? 'download' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (err) {
        onError(`Download failed: ${messageOf(err)}`);
      } finally {
        link.classList.remove('loading');
      }
    })();
  });
}
