// Error kinds of glance_store, and the one exception type that carries them.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace glance_store {

/// The error kinds, named as glance_store names its exceptions. The numeric values are stable:
/// the command-line tool derives its exit codes from them (10 + value).
enum class ErrorKind : int {
  kNotFound = 0,
  kDuplicate = 1,
  kInvalid = 2,
  kBadStoreUri = 3,
  kUnknownScheme = 4,
  kUnknownHashingAlgo = 5,
  kBadStoreConfiguration = 6,
  kStorageFull = 7,
  kStorageWriteDenied = 8,
  kForbidden = 9,
  kAuthorizationFailure = 10,
  kMaxRedirectsExceeded = 11,
  kStoreAddDisabled = 12,
  kStoreGetNotSupported = 13,
  kStoreRandomGetNotSupported = 14,
  kStoreDeleteNotSupported = 15,
  kRemoteServiceUnavailable = 16,
  kBackendException = 17,
  kTimeoutError = 18,
  kNotAuthenticated = 19,
  kMissingCredentialError = 20,
  kAuthBadRequest = 21,
  kAuthUrlNotFound = 22,
  kUnsupportedBackend = 23,
  kDriverLoadFailure = 24,
  /// Ours: the bytes did not hash to the digests the caller expected (a copy or an add with
  /// ExpectedDigests, `get --checksum`); nothing was committed.
  kChecksumMismatch = 25,
  /// An image cannot be deleted while it has snapshots other than its own (RBD).
  kHasSnapshot = 26,
  /// An image cannot be deleted while something outside Glance uses it: a clone of its
  /// snapshot, or another client that has it open (RBD).
  kInUseByStore = 27,
};

/// Every kind, in numeric order (for listings such as `glance-store --help`).
inline constexpr ErrorKind kAllErrorKinds[] = {
    ErrorKind::kNotFound,
    ErrorKind::kDuplicate,
    ErrorKind::kInvalid,
    ErrorKind::kBadStoreUri,
    ErrorKind::kUnknownScheme,
    ErrorKind::kUnknownHashingAlgo,
    ErrorKind::kBadStoreConfiguration,
    ErrorKind::kStorageFull,
    ErrorKind::kStorageWriteDenied,
    ErrorKind::kForbidden,
    ErrorKind::kAuthorizationFailure,
    ErrorKind::kMaxRedirectsExceeded,
    ErrorKind::kStoreAddDisabled,
    ErrorKind::kStoreGetNotSupported,
    ErrorKind::kStoreRandomGetNotSupported,
    ErrorKind::kStoreDeleteNotSupported,
    ErrorKind::kRemoteServiceUnavailable,
    ErrorKind::kBackendException,
    ErrorKind::kTimeoutError,
    ErrorKind::kNotAuthenticated,
    ErrorKind::kMissingCredentialError,
    ErrorKind::kAuthBadRequest,
    ErrorKind::kAuthUrlNotFound,
    ErrorKind::kUnsupportedBackend,
    ErrorKind::kDriverLoadFailure,
    ErrorKind::kChecksumMismatch,
    ErrorKind::kHasSnapshot,
    ErrorKind::kInUseByStore,
};

/// glance_store's class name of a kind, e.g. "NotFound".
std::string_view kind_name(ErrorKind kind);

/// glance_store's default message of a kind, with its placeholders (e.g. "Image %(image)s not
/// found") left for `Error::format` to fill.
std::string_view default_message(ErrorKind kind);

/// The single exception type of the library. The public API throws it for every failure it
/// reports; inside the library it also travels between threads as an `std::exception_ptr`.
/// Messages never contain secrets: URIs are redacted before they are quoted.
class Error : public std::exception {
 public:
  /// An error with an explicit message (an empty one takes the kind's default message).
  Error(ErrorKind kind, std::string message, int sys_errno = 0);

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  /// The errno behind a filesystem failure, or 0.
  int sys_errno() const noexcept { return errno_; }
  const char* what() const noexcept override { return message_.c_str(); }

  /// Whether this error is of `kind` or of a kind derived from it, as in glance_store's class
  /// hierarchy (StoreRandomGetNotSupported is a StoreGetNotSupported).
  bool is(ErrorKind kind) const noexcept;

  /// Fills `%(name)s` / `%(name)d` placeholders of `pattern` from name/value pairs. When one
  /// lacks a value the pattern is returned as written (glance_store never fails to format).
  static std::string format(std::string_view pattern,
                            std::initializer_list<std::pair<std::string_view, std::string>> args);

 private:
  ErrorKind kind_;
  std::string message_;
  int errno_;
};

/// A BadStoreConfiguration for an option whose value is malformed or out of bounds. Unlike a
/// failed add configuration (which only disables add), it fails store creation.
class InvalidOptionValue : public Error {
 public:
  using Error::Error;
};

/// Shorthands for the errors raised in many places.
Error not_found_error(std::string_view image);
Error duplicate_error(std::string_view image);
Error bad_store_uri_error(std::string_view redacted_uri_or_reason, bool is_reason = false);
Error unknown_scheme_error(std::string_view scheme);
Error bad_store_configuration_error(std::string_view store_name, std::string_view reason);
Error checksum_mismatch_error(std::string_view algo, std::string_view actual,
                              std::string_view expected);

}  // namespace glance_store
