"""Options of our own, beside the stock drivers' options.

glance_store registers the options of every installed driver, used or not, and
oslo.config refuses an option registered twice with different attributes. So
each option here is one object shared by all our drivers, and when the
installed glance_store already has an option of that name (a newer release
may), its object is used instead of ours.
"""

from oslo_config import cfg
from oslo_utils import units

ADD_BUFFER_SIZE = cfg.IntOpt(
    'add_buffer_size', default=units.Mi, min=4 * units.Ki, max=256 * units.Mi,
    help='Bytes per buffer of the C++ add pipeline (glance_store_cpp).')
ADD_BUFFER_COUNT = cfg.IntOpt(
    'add_buffer_count', default=8, min=2, max=1024,
    help='Buffers in flight per add in the C++ drivers (glance_store_cpp); '
         'the pipeline holds add_buffer_size times this many bytes, within '
         'add_memory_limit.')
ADD_MEMORY_LIMIT = cfg.IntOpt(
    'add_memory_limit', default=96 * units.Mi, min=units.Mi, max=units.Ti,
    help='Bytes of image data one add of the C++ drivers (glance_store_cpp) '
         'may hold in memory: the add pipeline\'s buffers and the parts an '
         'S3 or Swift add keeps until they are uploaded.')
COMMON = [ADD_BUFFER_SIZE, ADD_BUFFER_COUNT, ADD_MEMORY_LIMIT]

FILESYSTEM = [
    cfg.BoolOpt('filesystem_store_direct_io', default=True,
                help='Write added images with O_DIRECT, around the page '
                     'cache (glance_store_cpp; falls back to buffered '
                     'writes where the filesystem has no direct I/O).'),
    cfg.IntOpt('filesystem_store_timeout', default=0, min=0,
               help='Seconds after which a filesystem call of a get, '
                    'get_size or delete fails with a TimeoutError; 0 waits '
                    'for ever (glance_store_cpp).'),
    cfg.IntOpt('filesystem_store_thread_pool_size', default=10, min=1,
               max=1024,
               help='Threads that run those calls when '
                    'filesystem_store_timeout is set (glance_store_cpp).'),
    cfg.IntOpt('filesystem_store_threadpool_threshold', default=75, min=0,
               max=100,
               help='Percent of that pool in use above which a warning is '
                    'logged (glance_store_cpp).'),
]

S3 = [
    cfg.IntOpt('s3_store_max_upload_parts', default=10000, min=1, max=10000,
               help="The S3 server's limit on the parts of a multipart "
                    "upload (Swift's s3api: 1000) (glance_store_cpp)."),
    cfg.IntOpt('s3_store_max_retries', default=5, min=0, max=100,
               help='Retries of an S3 request that failed transiently '
                    '(glance_store_cpp).'),
    cfg.IntOpt('s3_store_timeout', default=60, min=1,
               help='Seconds an S3 request may go without moving a byte '
                    '(glance_store_cpp).'),
    cfg.StrOpt('s3_store_region_name', default='',
               help='The S3 region; empty: taken from the host name '
                    '(glance_store_cpp).'),
    cfg.StrOpt('s3_store_cacert', default='',
               help='CA bundle that verifies an s3+https server; empty: the '
                    "system's (glance_store_cpp)."),
    cfg.BoolOpt('s3_store_enable_data_integrity_protection', default=False,
                help='Use the two checksum options below '
                     '(glance_store_cpp).'),
    cfg.StrOpt('s3_store_request_checksum_calculation',
               default='when_required',
               choices=['when_required', 'when_supported'],
               help='When requests carry checksums (glance_store_cpp).'),
    cfg.StrOpt('s3_store_response_checksum_validation',
               default='when_required',
               choices=['when_required', 'when_supported'],
               help='When response checksums are checked '
                    '(glance_store_cpp).'),
]

SWIFT = [
    cfg.IntOpt('swift_store_max_retries', default=5, min=0, max=100,
               help='Retries of a Swift request that failed transiently '
                    '(glance_store_cpp).'),
    cfg.IntOpt('swift_store_timeout', default=60, min=1,
               help='Seconds a Swift request may go without moving a byte '
                    '(glance_store_cpp).'),
    cfg.IntOpt('swift_store_upload_concurrency', default=4, min=1, max=64,
               help='Segments of one add uploaded at once '
                    '(glance_store_cpp).'),
    cfg.StrOpt('swift_store_application_credential_id', secret=True,
               help='A Keystone application credential for the Swift '
                    'store (glance_store_cpp).'),
    cfg.StrOpt('swift_store_application_credential_secret', secret=True,
               help='The secret of that application credential '
                    '(glance_store_cpp).'),
    cfg.StrOpt('swift_store_project_id',
               help='The project of that credential (glance_store_cpp).'),
    cfg.StrOpt('swift_store_project_name',
               help='The project of that credential, by name '
                    '(glance_store_cpp).'),
]

HTTP = [
    cfg.IntOpt('http_store_timeout', default=60, min=1,
               help='Seconds an HTTP read may go without moving a byte '
                    '(glance_store_cpp).'),
]

RBD = [
    cfg.IntOpt('rbd_store_read_concurrency', default=8, min=1, max=64,
               help='Reads in flight during a get from RBD '
                    '(glance_store_cpp).'),
]

MULTI_BACKEND = [
    cfg.IntOpt('weight', default=0,
               help='Relative weight of this store when an image is in '
                    'several (glance_store_cpp).'),
]


def merge(stock, ours):
    """The stock options, then ours whose names the stock ones lack."""
    names = {opt.dest for opt in stock}
    return list(stock) + [opt for opt in ours if opt.dest not in names]


def as_text(opt, value):
    """An option's resolved value as configuration-file text values."""
    if value is None:
        return []
    if isinstance(opt, cfg.MultiOpt):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return ['true' if value else 'false']
    if isinstance(value, dict):
        return [','.join('%s:%s' % item for item in value.items())]
    if isinstance(value, (list, tuple)):
        return [','.join(str(v) for v in value)]
    return [str(value)]
