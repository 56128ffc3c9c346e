# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one registry reference parser (private, not public API).

How a registry name given by a user (``https://reg:5000/``, ``REG:5000/v2/``,
``docker.io``, ``[::1]:5000``) becomes the key clients store it under: the docker
CLI's ``config.json`` keys, its ``credHelpers`` keys, the containers ``auth.json``
keys, and the host a client contacts. ``Reference.parse(name)`` parses once; its
``config_key(fmt)``, ``helper_key(fmt)``, ``endpoint``, ``is_docker_hub`` and
``verification_key`` answer the rest (``normalize_registry`` and ``helper_key`` are
the one-call forms; both, and ``parse`` itself, take a name or a ``Reference``, so a
caller that parsed once hands the ``Reference`` down: ``login.run`` does). Everything
that compares, stores or contacts a registry by name goes through here (docker_config, registry, node_auth, the token minters, the
controller's verification cache). Small on purpose: the controller imports it once
per host and task. Standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
CONTAINERS_HUB_KEY = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])
FORMATS = ("docker", "containers")

_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_MAX_HOST = 253
_PATH_SEGMENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def split_server(server):
    """Return (host, port_or_None, path) of a registry reference, scheme dropped."""
    if not isinstance(server, str):
        raise DockerConfigError("registry must be a string, got %s" % type(server).__name__)
    raw = server.strip()
    if not raw:
        raise DockerConfigError("registry is empty: give a host such as registry.example.com or docker.io")
    if any(c.isspace() for c in raw):
        raise DockerConfigError("registry %r contains white space: give a host[:port] such as registry.example.com" % server)
    lowered = raw.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            raw = raw[len(scheme) :]
            break
    else:
        if "://" in raw:
            raise DockerConfigError(
                "registry %r has an unsupported scheme: use host[:port], https://host or http://host" % server
            )
    hostport, _sep, path = raw.partition("/")
    if "@" in hostport:
        raise DockerConfigError("registry %r must not contain user information ('@'): pass username separately" % server)
    if not hostport:
        raise DockerConfigError("registry %r has no host name: give host[:port], such as registry.example.com" % server)
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise DockerConfigError("registry %r has an unterminated IPv6 literal" % server)
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise DockerConfigError("registry %r has an invalid IPv6 address" % server) from None
        if rest and not rest.startswith(":"):
            raise DockerConfigError("registry %r: unexpected text after the IPv6 address" % server)
        port = rest[1:] if rest else None
    else:
        host, sep, port = hostport.partition(":")
        if not sep:
            port = None
        if len(host) > _MAX_HOST:
            raise DockerConfigError(
                "registry %r: the host name is %d characters long; DNS allows %d" % (server[:80] + "...", len(host), _MAX_HOST)
            )
        labels = host.split(".")
        if not all(_HOST_LABEL.match(label) for label in labels):
            raise DockerConfigError(
                "registry %r: %r is not a valid host name (letters, digits, '-' and '.' only)" % (server, host)
            )
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise DockerConfigError("registry %r has an invalid port %r (1-65535)" % (server, port))
        port = str(int(port))
    return host.lower(), port, path.strip("/")


class Reference:
    """A registry name, parsed once (``Reference.parse``); raises ``DockerConfigError`` naming what is wrong.

    ``scheme`` is ``"http"`` or ``"https"`` when the name gave one, else None; ``host`` is lower
    case (an IPv6 literal keeps its brackets), ``port`` a string or None, ``path`` the rest
    without slashes."""

    __slots__ = ("given", "scheme", "host", "port", "path")

    def __init__(self, given, scheme, host, port, path):
        self.given, self.scheme, self.host, self.port, self.path = given, scheme, host, port, path

    @classmethod
    def parse(cls, server):
        """``server`` parsed; a ``Reference`` is returned as it is, so callers may pass either."""
        if isinstance(server, cls):
            return server
        host, port, path = split_server(server)
        lowered = server.strip().lower()
        scheme = next((s for s in ("https", "http") if lowered.startswith(s + "://")), None)
        return cls(server, scheme, host, port, path)

    def __repr__(self):
        return "Reference(%r)" % (self.given,)

    def __str__(self):  # messages name the registry as the user spelled it
        return self.given

    @property
    def hostport(self):
        return self.host if self.port is None else "%s:%s" % (self.host, self.port)

    @property
    def is_docker_hub(self):
        return self.port is None and self.host in DOCKER_HUB_ALIASES

    @property
    def endpoint(self):
        """``host[:port]`` a client contacts: Docker Hub's names are served at ``registry-1.docker.io``."""
        return DOCKER_HUB_ENDPOINT if self.is_docker_hub else self.hostport

    @property
    def verification_key(self):
        """One key for every spelling verified at the same place: the docker key, ``http://`` kept
        (only an explicit ``http://`` changes where verification goes)."""
        return ("http://" if self.scheme == "http" else "") + self.config_key()

    def config_key(self, fmt="docker"):
        """The key under which the registry is stored.

        docker format: Docker Hub aliases -> ``https://index.docker.io/v1/``;
        any other registry -> ``host[:port]`` (scheme, path and trailing slash dropped),
        as ``docker login`` stores it.

        containers format (auth.json): Docker Hub -> ``docker.io``; other registries
        -> ``host[:port]`` plus an optional repository namespace path, which
        containers/image uses to scope credentials.
        """
        if fmt not in FORMATS:
            raise DockerConfigError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))
        hub = self.is_docker_hub
        if fmt == "docker":
            return DOCKER_HUB_KEY if hub else self.hostport
        path = self.path
        if hub and path in ("v1", "v2"):
            path = ""
        key = CONTAINERS_HUB_KEY if hub else self.hostport
        if path and path not in ("v1", "v2"):
            if not all(_PATH_SEGMENT.match(s) for s in path.split("/")):
                raise DockerConfigError(
                    "registry %r: namespace path %r is not a valid repository path (lowercase, digits, '._-')"
                    % (self.given, path)
                )
            key = key + "/" + path
        return key

    def helper_key(self, fmt="docker"):
        """The ``credHelpers`` key.

        The docker CLI looks helpers up by host name (``ConvertToHostname``), so
        Docker Hub's helper key is ``index.docker.io`` while its auths key is
        ``https://index.docker.io/v1/``. containers/image uses its auth.json keys.
        """
        key = self.config_key(fmt)
        if fmt == "docker" and key == DOCKER_HUB_KEY:
            return "index.docker.io"
        return key


def normalize_registry(server, fmt="docker"):
    """The key under which ``server`` (a name or a ``Reference``) is stored (``Reference.config_key``)."""
    return Reference.parse(server).config_key(fmt)


def helper_key(server, fmt="docker"):
    """The ``credHelpers`` key for ``server`` (a name or a ``Reference``: ``Reference.helper_key``)."""
    return Reference.parse(server).helper_key(fmt)
