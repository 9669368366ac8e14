#!/usr/bin/python3
# s3cmd with every *.localhost name on loopback (RFC 6761 §6.3), which
# glibc's resolver leaves to /etc/hosts: t21 reaches the S3 endpoint's
# own host (S3API_DOMAIN=s3.localhost) and its bucket subdomains without
# editing that file. The Host header is still the name s3cmd signed.
import runpy
import socket
import sys

_getaddrinfo = socket.getaddrinfo


def _loopback(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or
                                  host.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback
sys.argv[0] = "/usr/bin/s3cmd"
runpy.run_path("/usr/bin/s3cmd", run_name="__main__")
