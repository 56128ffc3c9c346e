# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one retry rule, for its API clients (Google REST, Kubernetes).

An attempt is a function that either returns its result or raises ``TryAgain``: it is the
attempt, which knows the protocol, that decides what is worth another try (a 409 on a
``resourceVersion`` or an IAM ``etag``, a 429 or 5xx on a read, a connection that failed).
``retrying`` calls it a bounded number of times, waits between calls when asked (exponential
backoff, capped, with optional jitter), and when no attempt is left raises the error the last
``TryAgain`` carried, which names the thing and what to do.

Standard library only, Python 3.8+ (it runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time


class TryAgain(Exception):
    """Raised by an attempt that should be made again.

    ``error``: the exception to raise when no attempt is left; ``wait``: False to try again at
    once (a conflict: read again and redo), True to back off first (the server is busy)."""

    def __init__(self, error=None, wait=True):
        super(TryAgain, self).__init__(str(error) if error is not None else "try again")
        self.error = error
        self.wait = wait


def backoff(attempt, base, cap=None, jitter=False, rand=random.random):
    """Seconds to wait after failed attempt number ``attempt`` (1-based): ``base * 2**(attempt - 1)``,
    at most ``cap``, times a random factor in [1, 2) with ``jitter`` (so clients that failed together
    do not retry together)."""
    delay = base * (2 ** (attempt - 1))
    if cap is not None:
        delay = min(cap, delay)
    if jitter:
        delay *= 1 + rand()
    return delay


def retrying(attempt, attempts, base=0.0, cap=None, jitter=False, sleep=time.sleep):
    """``attempt(n)`` for n = 1, 2, ... until it returns, at most ``attempts`` calls.

    Between calls, when the ``TryAgain`` asks to wait and ``base`` is set, sleeps ``backoff(n, base,
    cap, jitter)``. After the last call raises the last ``TryAgain``'s ``error`` (the ``TryAgain``
    itself when it carries none)."""
    last = None
    for n in range(1, attempts + 1):
        try:
            return attempt(n)
        except TryAgain as again:
            last = again
            if n < attempts and again.wait and base:
                sleep(backoff(n, base, cap, jitter))
    raise last.error if last is not None and last.error is not None else last
