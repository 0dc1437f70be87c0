"""The GS_* settings of the project's test servers: from the environment, or
else from `scripts/servers/<server> env`."""

import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def load(server, required):
    """The GS_* variables of a server; raises when `required` is missing."""
    env = {k: v for k, v in os.environ.items() if k.startswith('GS_')}
    if required not in env:
        script = os.path.join(ROOT, 'scripts', 'servers', server)
        out = subprocess.run([script, 'env'], capture_output=True, text=True,
                             check=False).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[len('export '):].partition('=')
                env.setdefault(key, value.strip('\'"'))
    if not env.get(required):
        raise RuntimeError('%s is not running (no %s): start it with '
                           'scripts/servers/%s start' % (server, required,
                                                         server))
    return env
