// glance_store_cpp._native: the library's stores as Python objects, for the glance_store drivers
// of the glance_store_cpp package. Calls that may block (opening a get, a delete) release the
// GIL, and the Python side runs them in native threads when eventlet drives the process. The
// bytes of adds and gets move through queues on C++ threads of their own that Python takes from
// and gives to without blocking, waiting on an eventfd in its event loop.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "add_session.h"
#include "byte_queue.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "glance_store/location.h"
#include "glance_store/store.h"

namespace py = pybind11;

namespace glance_store::python {
namespace {

// Set once at import: the exception class Python sees for every glance_store::Error, with
// args (kind name, message).
PyObject* g_store_error = nullptr;

std::optional<RequestContext> to_context(const py::object& context) {
  if (context.is_none()) return std::nullopt;
  const auto fields = context.cast<py::dict>();
  RequestContext out;
  auto text = [&](const char* key) {
    return fields.contains(key) && !fields[key].is_none() ? fields[key].cast<std::string>() : "";
  };
  out.auth_token = text("auth_token");
  out.user_id = text("user_id");
  out.project_id = text("project_id");
  const std::string catalog = text("service_catalog");  // JSON, made by the Python side
  if (!catalog.empty()) {
    out.service_catalog = nlohmann::json::parse(catalog, nullptr, /*allow_exceptions=*/false);
    if (out.service_catalog.is_discarded()) {
      throw Error(ErrorKind::kBackendException, "the request context's catalog is not JSON");
    }
  }
  return out;
}

std::span<const std::byte> bytes_of(const py::buffer_info& info) {
  return {static_cast<const std::byte*>(info.ptr),
          static_cast<std::size_t>(info.size * info.itemsize)};
}

// (scheme, written-back URI, [(field, value or None)]) of a location, as glance_store parses
// it; secrets are included, as glance's own StoreLocation keeps them.
py::tuple location_fields(const StoreLocation& location) {
  py::list fields;
  for (const auto& field : location.fields()) {
    fields.append(py::make_tuple(field.name, field.value ? py::cast(*field.value) : py::none()));
  }
  return py::make_tuple(location.scheme(), location.uri(), fields);
}

// A get's bytes, read ahead by a C++ thread into a bounded queue that Python takes chunks from
// without blocking.
class Reader {
 public:
  Reader(GetResult result, std::size_t chunk_bytes, std::size_t ahead_bytes)
      : size_(result.size), size_known_(result.size_known), queue_(ahead_bytes) {
    thread_ = std::thread([this, stream = std::move(result.stream), chunk_bytes] {
      try {
        while (true) {
          std::string chunk(chunk_bytes, '\0');
          std::size_t filled = 0;
          while (filled < chunk.size()) {
            const std::size_t n = stream->read(
                {reinterpret_cast<std::byte*>(chunk.data()) + filled, chunk.size() - filled});
            if (n == 0) break;
            filled += n;
          }
          if (filled == 0) break;
          chunk.resize(filled);
          if (!queue_.push(std::move(chunk))) break;  // closed by Python
        }
        finished_.store(true);  // before the end is seen: closing then never waits
        queue_.close();
      } catch (...) {
        finished_.store(true);
        queue_.fail(std::current_exception());
      }
    });
  }

  ~Reader() { close(); }

  /// The next chunk; b'' at the end; None when none is ready (wait for fileno()).
  py::object try_read() {
    std::optional<std::string> chunk = queue_.try_pop();
    if (!chunk) return py::none();
    return py::bytes(*chunk);
  }

  /// Stops reading ahead and waits for the reading thread (at most one read of the stream).
  void close() {
    queue_.cancel();
    if (thread_.joinable()) thread_.join();
  }

  int fd() const { return queue_.fd(); }
  bool finished() const { return finished_.load(); }
  std::uint64_t size() const { return size_; }
  bool size_known() const { return size_known_; }

 private:
  std::uint64_t size_;
  bool size_known_;
  ByteQueue queue_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// One configured store of the library.
class NativeStore {
 public:
  // `options`: option name → its values as oslo.config resolved them, written as text the way a
  // configuration file would give them (a multi-valued option has several).
  NativeStore(const std::string& type, const std::string& backend_id,
              const std::map<std::string, std::vector<std::string>>& options) {
    const std::string section = backend_id.empty() ? "glance_store" : backend_id;
    auto config = std::make_shared<ConfigFile>();
    for (const auto& [name, values] : options) config->set(section, name, values);
    store_ = create_store(type, std::move(config), {section}, backend_id);
  }

  void configure(bool rethrow) {
    py::gil_scoped_release unlocked;
    store_->configure(rethrow);
  }

  std::unique_ptr<AddSession> begin_add(const std::string& image_id, std::uint64_t size,
                                        const std::string& hashing_algo, const py::object& context,
                                        std::size_t queue_bytes) {
    auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    return std::make_unique<AddSession>(*store_, image_id, size, hashing_algo, std::move(ctx),
                                        queue_bytes);
  }

  std::unique_ptr<Reader> get(const std::string& uri, std::uint64_t offset,
                              std::optional<std::uint64_t> length, const py::object& context,
                              std::size_t chunk_bytes, std::size_t ahead_bytes) {
    const auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    const auto location = store_->parse_location(uri);
    return std::make_unique<Reader>(store_->get(*location, offset, length, ctx ? &*ctx : nullptr),
                                    std::max<std::size_t>(chunk_bytes, 1), ahead_bytes);
  }

  std::uint64_t get_size(const std::string& uri, const py::object& context) {
    const auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    return store_->get_size(*store_->parse_location(uri), ctx ? &*ctx : nullptr);
  }

  void remove(const std::string& uri, const py::object& context) {
    const auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    store_->remove(*store_->parse_location(uri), ctx ? &*ctx : nullptr);
  }

  void set_acls(const std::string& uri, bool is_public, const std::vector<std::string>& readers,
                const std::vector<std::string>& writers, const py::object& context) {
    const auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    store_->set_acls(*store_->parse_location(uri), is_public, readers, writers,
                     ctx ? &*ctx : nullptr);
  }

  py::tuple parse_location(const std::string& uri) const {
    return location_fields(*store_->parse_location(uri));
  }

  std::uint32_t capabilities() const { return store_->capabilities().mask(); }
  std::string add_disabled_reason() const { return store_->add_disabled_reason(); }
  std::string url_prefix() const { return store_->url_prefix(); }
  std::vector<std::string> schemes() const { return store_->schemes(); }

 private:
  std::unique_ptr<Store> store_;
};

py::tuple parse_location_fields(const std::string& uri) {
  return location_fields(*glance_store::parse_location(uri));
}

}  // namespace
}  // namespace glance_store::python

PYBIND11_MODULE(_native, m) {
  using namespace glance_store;
  using namespace glance_store::python;
  m.doc() = "The C++ glance_store library's stores, for the glance_store_cpp drivers.";

  g_store_error =
      PyErr_NewException("glance_store_cpp._native.StoreError", PyExc_Exception, nullptr);
  m.attr("StoreError") = py::handle(g_store_error);
  // NOLINTNEXTLINE(performance-unnecessary-value-param): pybind11 wants this signature
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Error& e) {
      py::object args = py::make_tuple(std::string(kind_name(e.kind())), e.message());
      PyErr_SetObject(g_store_error, args.ptr());
    }
  });

  py::class_<AddSession>(m, "AddSession")
      .def("fileno", &AddSession::fd,
           "An eventfd, readable when the add may take more bytes or has ended.")
      .def(
          "try_write",
          [](AddSession& session, const py::buffer& data) {
            const py::buffer_info info = data.request();
            return session.try_write(bytes_of(info));
          },
          "Queues a copy of the bytes; False when the queue is full or the add has ended.")
      .def("close_input", &AddSession::close_input, "No more bytes: the add then commits.")
      .def_property_readonly("done", &AddSession::done)
      .def("poll_done", &AddSession::poll_done,
           "Whether the add has ended; if not, fileno() turns readable when that may change.")
      .def(
          "result",
          [](AddSession& session) {
            AddResult result = session.result();
            return py::make_tuple(result.location, result.bytes_written, result.checksum,
                                  result.multihash, result.metadata.dump());
          },
          "(location, bytes, md5, multihash, metadata JSON) of an ended add; raises its error.")
      .def("cancel", &AddSession::cancel, "Asks the add to stop; `done` tells when it has.")
      .def(
          "abort",
          [](AddSession& session) {
            py::gil_scoped_release unlocked;
            session.abort();
          },
          "Stops the add and waits for it.");

  py::class_<Reader>(m, "Reader")
      .def("fileno", &Reader::fd, "An eventfd, readable when try_read() may give more.")
      .def("try_read", &Reader::try_read,
           "The next chunk, b'' at the end, or None when none is ready yet; raises the read's "
           "error.")
      .def(
          "close",
          [](Reader& reader) {
            py::gil_scoped_release unlocked;
            reader.close();
          },
          "Stops reading.")
      .def_property_readonly("finished", &Reader::finished)
      .def_property_readonly("size", &Reader::size)
      .def_property_readonly("size_known", &Reader::size_known);

  py::class_<NativeStore>(m, "Store")
      .def(py::init<const std::string&, const std::string&,
                    const std::map<std::string, std::vector<std::string>>&>(),
           py::arg("type"), py::arg("backend_id"), py::arg("options"))
      .def("configure", &NativeStore::configure, py::arg("rethrow") = false)
      .def("begin_add", &NativeStore::begin_add, py::arg("image_id"), py::arg("size"),
           py::arg("hashing_algo"), py::arg("context") = py::none(),
           py::arg("queue_bytes") = 2 << 20)
      .def("get", &NativeStore::get, py::arg("uri"), py::arg("offset") = 0,
           py::arg("length") = py::none(), py::arg("context") = py::none(),
           py::arg("chunk_bytes") = 1 << 20, py::arg("ahead_bytes") = 4 << 20)
      .def("get_size", &NativeStore::get_size, py::arg("uri"), py::arg("context") = py::none())
      .def("delete", &NativeStore::remove, py::arg("uri"), py::arg("context") = py::none())
      .def("set_acls", &NativeStore::set_acls, py::arg("uri"), py::arg("is_public"),
           py::arg("read_tenants"), py::arg("write_tenants"), py::arg("context") = py::none())
      .def("parse_location", &NativeStore::parse_location, py::arg("uri"),
           "As the module's parse_location, with this store's configuration.")
      .def_property_readonly("capabilities", &NativeStore::capabilities)
      .def_property_readonly("add_disabled_reason", &NativeStore::add_disabled_reason)
      .def_property_readonly("url_prefix", &NativeStore::url_prefix)
      .def_property_readonly("schemes", &NativeStore::schemes);

  m.def("parse_location", &parse_location_fields, py::arg("uri"),
        "(scheme, uri, [(field, value)]) of a location URI; raises StoreError.");
  m.def(
      "dispatch_scheme", [](const std::string& uri) { return dispatch_scheme(uri); },
      py::arg("uri"), "The scheme glance_store dispatches a URI on.");
  m.def(
      "type_of_scheme",
      [](const std::string& scheme) { return std::string(type_of_scheme(scheme)); },
      py::arg("scheme"), "The store type serving a scheme, or ''.");
}
