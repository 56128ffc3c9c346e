# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error base (private, not public API).

Every error the collection raises for bad input or a failing service derives from
``CloudRegistryError``: its message names the thing and the fix and never holds a
secret, so a module shows it as it is (``fail_json(msg=str(e))``) and anything else
is a bug that keeps its traceback. Standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class CloudRegistryError(Exception):
    """Bad input or a failing service; the message is safe to show."""


class DockerConfigError(CloudRegistryError):
    """A config file or registry name problem; the message is safe to show."""


def is_domain_error(exc):
    """True for the errors whose message is meant for the user (no secret in them)."""
    return isinstance(exc, CloudRegistryError)


def run_domain(error_cls, func, *args, **kwargs):
    """``func(*args, **kwargs)`` with every domain error turned into ``error_cls`` (the one a
    module catches and shows); anything else is a bug and keeps its traceback."""
    try:
        return func(*args, **kwargs)
    except error_cls:
        raise
    except Exception as e:  # noqa: BLE001 - re-raised unless it is a domain error
        if is_domain_error(e):
            raise error_cls(str(e)) from None
        raise
