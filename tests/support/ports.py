"""Print N loopback TCP ports that are free now and stay free until the caller binds them.

Ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range):
neither a bind to port 0 elsewhere in the suite nor the local end of an outgoing
connection can take such a port in the seconds between this pick and the daemon's
bind, which a port from `bind(("127.0.0.1", 0))` cannot promise (CI saw
kube-controller-manager lose its port that way).  Each pick is also checked
bindable now; a random start keeps parallel callers apart.
"""

import random
import socket
import sys


def ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick(count: int = 1, host: str = "127.0.0.1") -> list:
    high = ephemeral_low() - 1
    low = max(1024, high - 12000)
    chosen = []
    for port in random.sample(range(low, high + 1), high - low + 1):
        if bindable(port, host):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise SystemExit(f"ports.py: no {count} free ports in {low}-{high}")


def free_port(host: str = "127.0.0.1") -> int:
    """One port from pick(): free on ``host`` now and below the ephemeral range."""
    return pick(1, host)[0]


if __name__ == "__main__":
    print(" ".join(str(p) for p in pick(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
