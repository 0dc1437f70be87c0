#!/usr/bin/python3
"""glance_store's own functional tests of the filesystem driver (shipped in
Debian's python3-glance-store), run against our cpp_file driver.

Their setUp names the driver as `default_store`, which glance_store accepts
only for its built-in names; this subclass does what it does with our entry
point in `stores` alone. The tests themselves are upstream's, unchanged.

usage: PYTHONPATH=<build>/python/site glance_store_functional_test.py
"""

import os
import sys
import tempfile
import unittest

# Upstream's base class reads a clouds.yaml at import; the filesystem tests
# need none of its values.
_CLOUDS = os.path.join(tempfile.mkdtemp(prefix='gs-functional-'), 'clouds.yaml')
with open(_CLOUDS, 'w') as f:
    f.write('clouds:\n  devstack-admin:\n    auth:\n'
            '      auth_url: http://127.0.0.1:1/v3\n      username: u\n'
            '      password: p\n      project_name: p\n'
            '      user_domain_id: default\n      project_domain_id: default\n'
            '    region_name: RegionOne\n')
os.environ['OS_CLIENT_CONFIG_FILE'] = _CLOUDS

import glance_store  # noqa: E402
from glance_store.tests.functional.filesystem import (  # noqa: E402
    test_functional_filesystem as upstream)
from oslo_config import cfg  # noqa: E402
import testtools  # noqa: E402

CONF = cfg.CONF


class TestCppFilesystem(upstream.TestFilesystem):

    def setUp(self):
        self.tmp_image_dir = tempfile.mkdtemp(prefix='glance_store_')
        CONF.set_override('filesystem_store_datadir', self.tmp_image_dir,
                          group='glance_store')
        testtools.TestCase.setUp(self)
        CONF.set_override('stores', ['cpp_file'], group='glance_store')
        glance_store.create_stores()
        self.store = glance_store.backend._load_store(CONF, 'cpp_file')
        self.store.configure()
        # What the tests exercise is ours, not the stock driver.
        assert type(self.store).__module__ == 'glance_store_cpp.filesystem'


def load_tests(loader, tests, pattern):
    return loader.loadTestsFromTestCase(TestCppFilesystem)


if __name__ == '__main__':
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun == 4 else 1)
