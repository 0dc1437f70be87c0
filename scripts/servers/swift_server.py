#!/usr/bin/python3
"""Runs one Swift server with swift.conf read from SWIFT_DIR instead of /etc/swift.

Usage: swift_server.py SWIFT_DIR SERVER CONF   (SERVER: proxy-server, object-server, ...)

Swift hard-wires /etc/swift/swift.conf (the hash path prefix/suffix, the storage policies, the
constraints); the server's own swift_dir option only moves the rings. Pointing the module
globals at our directory before the server loads keeps the machine's /etc untouched.
"""
import sys

from swift.common import constraints, storage_policy, utils
from swift.common.wsgi import run_wsgi

swift_dir, server, conf = sys.argv[1:4]
utils.set_swift_dir(swift_dir)
# set_swift_dir only re-reads the hash settings: the policies and constraints were parsed at
# import time from /etc/swift/swift.conf (or Swift's defaults when it doesn't exist).
storage_policy.reload_storage_policies()
constraints.reload_constraints()
# verbose: log to stderr as well, which the start script sends to the server's log file.
sys.exit(run_wsgi(conf, server, verbose=True))
