// nlohmann/json (header-only; Debian nlohmann-json3-dev, copied into the build's include dir).
#pragma once

#include <nlohmann/json.hpp>

namespace runner {
using json = nlohmann::json;
}  // namespace runner
