// @ts-check
// One hook for a view's API call: the busy flag, the error, the result, and the race where an older
// request answers after a newer one (the older answer is dropped, and its fetch aborted).

import { useEffect, useRef, useState } from "preact/hooks";

/**
 * @template T
 * @typedef {{result: T | null, error: Error | null, busy: boolean}} RequestState
 */

/**
 * Runs `request(signal)` whenever `key` changes and is not ""; the latest answer wins. `key` is every
 * input the request reads, joined into one string ("" means nothing to ask: the state clears).
 * @template T
 * @param {string} key
 * @param {(signal: AbortSignal) => Promise<T>} request
 * @param {{keepPrevious?: boolean}} [options] `keepPrevious`: the last answer stays up until the next one
 *   arrives, so a failed request leaves the previous result under its error and a new request leaves the
 *   last error up while it runs (search does this). Otherwise a new request clears the error and a failed
 *   one clears the result.
 * @returns {RequestState<T>}
 */
export function useRequest(key, request, { keepPrevious = false } = {}) {
  const [state, setState] = useState(/** @type {RequestState<T>} */ ({ result: null, error: null, busy: false }));
  const seq = useRef(0);
  useEffect(() => {
    if (!key) {
      setState({ result: null, error: null, busy: false });
      return undefined;
    }
    const my = ++seq.current;
    const ctrl = new AbortController();
    setState((s) => ({ ...s, error: keepPrevious ? s.error : null, busy: true }));
    request(ctrl.signal).then(
      (result) => my === seq.current && setState({ result, error: null, busy: false }),
      (error) => {
        if (my !== seq.current) return; // an answer to a question no longer asked (or its abort)
        setState((s) => ({ result: keepPrevious ? s.result : null, error, busy: false }));
      },
    );
    return () => {
      seq.current++;
      ctrl.abort();
    };
  }, [key]);
  return state;
}
