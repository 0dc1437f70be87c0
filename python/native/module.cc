// glance_store_cpp._native: the library's stores as Python objects, for the glance_store drivers
// of the glance_store_cpp package. Every call that may block releases the GIL; the Python side
// runs those calls in native threads when eventlet drives the process.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "add_session.h"
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

// A get's stream; read(n) fills a new bytes object of up to n bytes, off the GIL.
class Reader {
 public:
  explicit Reader(GetResult result) : result_(std::move(result)) {}

  py::bytes read(std::size_t max_bytes) {
    if (!result_.stream || max_bytes == 0) return py::bytes();
    PyObject* raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(max_bytes));
    if (raw == nullptr) throw py::error_already_set();
    std::size_t filled = 0;
    try {
      py::gil_scoped_release unlocked;
      auto* out = reinterpret_cast<std::byte*>(PyBytes_AS_STRING(raw));
      while (filled < max_bytes) {
        const std::size_t n = result_.stream->read({out + filled, max_bytes - filled});
        if (n == 0) break;
        filled += n;
      }
    } catch (...) {
      Py_DECREF(raw);
      close();
      throw;
    }
    if (filled == 0) close();
    if (filled < max_bytes && _PyBytes_Resize(&raw, static_cast<Py_ssize_t>(filled)) != 0) {
      throw py::error_already_set();
    }
    return py::reinterpret_steal<py::bytes>(raw);
  }

  void close() {
    py::gil_scoped_release unlocked;
    result_.stream.reset();
  }

  std::uint64_t size() const { return result_.size; }
  bool size_known() const { return result_.size_known; }

 private:
  GetResult result_;
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
                                        const std::string& hashing_algo,
                                        const py::object& context) {
    return std::make_unique<AddSession>(*store_, image_id, size, hashing_algo, to_context(context));
  }

  std::unique_ptr<Reader> get(const std::string& uri, std::uint64_t offset,
                              std::optional<std::uint64_t> length, const py::object& context) {
    const auto ctx = to_context(context);
    py::gil_scoped_release unlocked;
    const auto location = store_->parse_location(uri);
    return std::make_unique<Reader>(store_->get(*location, offset, length, ctx ? &*ctx : nullptr));
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
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Error& e) {
      py::object args = py::make_tuple(std::string(kind_name(e.kind())), e.message());
      PyErr_SetObject(g_store_error, args.ptr());
    }
  });

  py::class_<AddSession>(m, "AddSession")
      .def(
          "write",
          [](AddSession& session, const py::buffer& data) {
            const py::buffer_info info = data.request();
            const auto bytes = bytes_of(info);
            py::gil_scoped_release unlocked;
            return session.write(bytes);
          },
          "Passes the next bytes; False when the add has ended (finish() says how).")
      .def(
          "finish",
          [](AddSession& session) {
            AddResult result;
            {
              py::gil_scoped_release unlocked;
              result = session.finish();
            }
            return py::make_tuple(result.location, result.bytes_written, result.checksum,
                                  result.multihash, result.metadata.dump());
          },
          "Ends the input and waits: (location, bytes, md5, multihash, metadata JSON).")
      .def(
          "abort",
          [](AddSession& session) {
            py::gil_scoped_release unlocked;
            session.abort();
          },
          "Abandons the add; the store removes what it wrote.");

  py::class_<Reader>(m, "Reader")
      .def("read", &Reader::read, py::arg("max_bytes"),
           "Up to max_bytes bytes (fewer only at the end); b'' at the end.")
      .def("close", &Reader::close)
      .def_property_readonly("size", &Reader::size)
      .def_property_readonly("size_known", &Reader::size_known);

  py::class_<NativeStore>(m, "Store")
      .def(py::init<const std::string&, const std::string&,
                    const std::map<std::string, std::vector<std::string>>&>(),
           py::arg("type"), py::arg("backend_id"), py::arg("options"))
      .def("configure", &NativeStore::configure, py::arg("rethrow") = false)
      .def("begin_add", &NativeStore::begin_add, py::arg("image_id"), py::arg("size"),
           py::arg("hashing_algo"), py::arg("context") = py::none())
      .def("get", &NativeStore::get, py::arg("uri"), py::arg("offset") = 0,
           py::arg("length") = py::none(), py::arg("context") = py::none())
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
