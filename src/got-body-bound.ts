/**
 * A bound on how much of an answer got reads: the request is cancelled as soon as the announced
 * length or the bytes received pass `maxBytes`, so a huge or endless body costs at most one chunk
 * past the bound. The authenticator client and the key-set fetcher both use it.
 */
import type { CancelableRequest, Response } from 'got';

/** Watches `request`; the returned function says whether it was cancelled for its size. */
export function cancelPastBytes(request: CancelableRequest<Response<Buffer>>, maxBytes: number): () => boolean {
  let tooLarge = false;
  request.on('downloadProgress', ({ transferred, total }) => {
    if (transferred > maxBytes || (total ?? 0) > maxBytes) {
      tooLarge = true;
      request.cancel();
    }
  });
  return () => tooLarge;
}
