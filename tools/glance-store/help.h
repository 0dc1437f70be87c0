// The glance-store tool's help texts: `COMMAND --help` prints them and `glance-store --man FILE`
// writes them as the man page, so both say the same thing.
#pragma once

#include <string>
#include <string_view>

#include "cli.h"
#include "glance_store/error.h"

namespace glance_store::cli {

/// What a command's help says beyond its options. Texts are lines of at most 78 columns;
/// a blank line separates paragraphs.
struct CommandHelp {
  std::string_view name;
  std::string_view summary;     ///< one line, in the list of commands
  std::string_view details;     ///< what it does and what it prints
  std::string_view exit_codes;  ///< the codes of note, one per line
  std::string_view example;     ///< command lines, one per line
};

inline constexpr std::string_view kToolSummary =
    "Store, read and delete virtual-machine images through glance_store's stores.";

inline constexpr std::string_view kToolDetails =
    "glance-store reads the same glance-api.conf as OpenStack's glance_store and\n"
    "works on the same stores: filesystem (file://), S3 (s3://, s3+https://), Swift\n"
    "(swift://, swift+https://, swift+config://), Ceph RBD (rbd://) and read-only\n"
    "HTTP (http://, https://). Locations are printed and parsed as glance_store\n"
    "writes them.\n"
    "\n"
    "The configuration is --config FILE, else $GLANCE_STORE_CONFIG, else a built-in\n"
    "legacy filesystem store under ${XDG_DATA_HOME:-~/.local/share}/glance-store/images\n"
    "(created by the first add). A file with [DEFAULT] enabled_backends is multi-store.\n"
    "\n"
    "A failure prints one line on stderr, 'glance-store: <Kind>: <message>', and exits\n"
    "with its kind's code. Run 'glance-store COMMAND --help' for a command's details.";

inline constexpr CommandHelp kCommandHelp[] = {
    {"add", "store an image and print its location as JSON",
     "Reads FILE (or standard input, '-', the default) once, computes its md5 and\n"
     "multihash while writing it, and stores it in the default store (or the one\n"
     "--backend names). The add is all or nothing: a failed add leaves no image.\n"
     "\n"
     "Prints one JSON object: location, size, checksum (md5), multihash, hash_algo\n"
     "and metadata. The size is FILE's; standard input is an unknown size unless\n"
     "--size gives one (0 means unknown). Without --image-id a new UUID is used.\n"
     "--hash-algo is one of md5, sha1, sha224, sha256, sha384, sha512, sha3_224,\n"
     "sha3_256, sha3_384, sha3_512, blake2b, blake2s.",
     "  11  Duplicate: the store already holds an image with this id\n"
     "  12  Invalid: an image id the stores cannot name exactly\n"
     "  22  StoreAddDisabled: the store is read-only or its add configuration failed\n",
     "glance-store add --image-id 3f1c2c1e-7a9b-4c1d-9e1f-0a2b3c4d5e6f disk.qcow2\n"
     "curl -s https://example.org/disk.img | glance-store --backend fast add -\n"},
    {"get", "write an image (or a range of it) to stdout or a file",
     "Reads the image at URI from the store its scheme selects (or --backend) and\n"
     "writes it to standard output, or to -o FILE. A regular FILE is written under a\n"
     "temporary name beside it and renamed when complete (a replaced file keeps its\n"
     "permission bits); /dev/null, a pipe or a device is written directly. -o inside\n"
     "any configured datadir is refused before anything is read.\n"
     "\n"
     "--offset and --length read a range; an offset past the end is a usage error,\n"
     "an offset equal to the size reads nothing. --checksum verifies what was read.",
     "   2  usage error: a bad number, an --offset past the end, an -o FILE refused\n"
     "   3  checksum mismatch: FILE is not created\n"
     "  10  NotFound: no image at URI\n",
     "glance-store get file:///var/lib/glance/images/ID -o disk.img\n"
     "glance-store get s3://AK:SK@s3.example.org/images/ID --offset 512 --length 64\n"},
    {"copy", "stream an image from its store to another writable one",
     "Streams the image at URI (any location the configuration can read, http(s)://\n"
     "included) into the writable store --to names, with no temporary file and the\n"
     "add's bounded memory. md5 and the multihash are computed on the way; with\n"
     "--checksum or --multihash they are compared after the last byte and before the\n"
     "destination commits, so a mismatch leaves nothing there.\n"
     "\n"
     "The copy keeps the source's image id when its URI ends with a UUID (an rbd://\n"
     "location: its image, before the snapshot), else takes a new one; --image-id\n"
     "sets it. Prints the same JSON as add.",
     "   3  checksum mismatch: nothing was stored\n"
     "  11  Duplicate: the destination already holds the image id\n"
     "  22  StoreAddDisabled: --to names a read-only store (http)\n",
     "glance-store --config /etc/glance/glance-api.conf copy \\\n"
     "    file:///var/lib/glance/images/ID --to cheap --checksum MD5\n"},
    {"verify", "read an image and check its digests",
     "Reads the image at URI and computes its md5 and multihash (of --hash-algo).\n"
     "Needs --checksum or --multihash, or both. Prints one JSON object: size,\n"
     "checksum, multihash, hash_algo and matches.",
     "   2  usage error: neither --checksum nor --multihash, or a digest of the wrong\n"
     "      length\n"
     "   3  checksum mismatch: a given digest differs\n",
     "glance-store verify swift+https://swift.example.org/v1/AUTH_p/glance/ID \\\n"
     "    --checksum MD5\n"},
    {"size", "print an image's size in bytes",
     "Asks the store for the size of the image at URI and prints it as a decimal\n"
     "number. The HTTP store says 0 when the server sends no Content-Length.",
     "  10  NotFound: no image at URI\n", "glance-store size file:///var/lib/glance/images/ID\n"},
    {"delete", "delete an image",
     "Deletes the image at URI (on Swift, its segments too). Prints nothing.",
     "  10  NotFound: no image at URI\n"
     "  19  Forbidden: a file outside every configured datadir\n"
     "  25  StoreDeleteNotSupported: the store is read-only (http)\n",
     "glance-store delete s3://AK:SK@s3.example.org/images/ID\n"},
    {"parse-uri", "parse a location URI and print its fields as JSON",
     "Parses URI as the store of its scheme does and prints one JSON object: scheme,\n"
     "fields (with glance_store's field names) and uri (the URI written back).\n"
     "Secrets print as *** unless --show-credentials. Nothing is sent anywhere.",
     "  13  BadStoreUri: URI is not a valid location of its store\n"
     "  14  UnknownScheme: no store reads this scheme\n",
     "glance-store parse-uri 's3://AK:SK@s3.example.org/images/ID'\n"},
    {"stores", "list the configured stores as JSON",
     "Prints a JSON array with one object per store: name, type, schemes,\n"
     "capabilities, default, reserved, add_enabled, and add_disabled_reason when add\n"
     "is disabled.",
     "  16  BadStoreConfiguration: an option is malformed (the message names it)\n",
     "glance-store --config /etc/glance/glance-api.conf stores\n"},
    {"cleanup", "list, and remove, what interrupted adds left behind",
     "Finds the leftovers of adds that were interrupted (kill -9, power loss) at\n"
     "least --older-than ago (a number with s, m, h or d; default 24h) in every\n"
     "configured store: filesystem temporaries, S3 multipart uploads in the store's\n"
     "bucket, Swift segments without their manifest, RBD images still named\n"
     "<id>;adding;<token>. Removes them unless --dry-run, and prints a JSON array with\n"
     "one object per store: name, type, leftovers (kind, name, image_id,\n"
     "age_seconds, removed, error), and skipped when the store cannot be looked at\n"
     "(a store that is down; multi-tenant Swift, whose images are in each user's\n"
     "account). A live add is never touched: the filesystem and RBD can tell (a lock,\n"
     "an open handle); on S3 and Swift only the age protects it, so keep --older-than\n"
     "above the longest add (a bucket or container shared with Python glance_store\n"
     "holds its live uploads too).",
     "   0  every leftover found was removed (or --dry-run)\n"
     "  27  BackendException: a leftover could not be removed, or a store listed\n",
     "glance-store --config /etc/glance/glance-api.conf cleanup --dry-run\n"
     "glance-store --config /etc/glance/glance-api.conf cleanup --older-than 2h\n"},
};

/// The help of `name`; nullptr for a name that is not a command.
inline const CommandHelp* find_command_help(std::string_view name) {
  for (const CommandHelp& help : kCommandHelp) {
    if (help.name == name) return &help;
  }
  return nullptr;
}

/// What `COMMAND --help` prints after the options.
inline std::string command_footer(const CommandHelp& help) {
  std::string text =
      std::string(help.details) + "\n\nExit codes of note (see glance-store --help):\n";
  text += help.exit_codes;
  text += "\nExample:\n";
  std::string_view example = help.example;
  while (!example.empty()) {
    const std::size_t end = example.find('\n');
    text += "  " + std::string(example.substr(0, end)) + "\n";
    example.remove_prefix(end == std::string_view::npos ? example.size() : end + 1);
  }
  return text;
}

/// The exit codes of every command, for `glance-store --help` and the man page.
inline std::string exit_code_help() {
  std::string text =
      "Exit codes:\n"
      "  0   success\n"
      "  1   unexpected internal error\n"
      "  2   usage error: a bad option or number, an --offset past the end, a FILE that\n"
      "      cannot be opened (missing, a directory, not permitted), an -o FILE that cannot\n"
      "      be created there or that is inside a store's datadir\n"
      "  3   checksum mismatch (get --checksum, copy, verify): nothing was stored\n";
  for (ErrorKind kind : kAllErrorKinds) {
    if (kind == ErrorKind::kChecksumMismatch) continue;
    text += "  " + std::to_string(exit_code(kind)) + "  " + std::string(kind_name(kind)) + "\n";
  }
  return text;
}

}  // namespace glance_store::cli
