// The image ids every store accepts.
#pragma once

#include <string_view>

namespace glance_store {

/// Throws Invalid unless `id` can be an image id in every store: 1 or more bytes of well-formed
/// UTF-8; no control characters (C0, DEL, C1); not "." or ".."; no whitespace at either end; none
/// of `/ ? # ; @ %`. These are the characters that glance_store's location parsers (and ours,
/// which agree with them) read as something else than the name of the object: a path separator,
/// a query, a fragment, parameters, credentials, an escape, or whitespace they strip. An id that
/// passes is written verbatim in every location, so the location names exactly that object for
/// both libraries. Stores add their own length limits.
void check_image_id(std::string_view id);

}  // namespace glance_store
